// Unit tests for cli: parse_run_options, the option table and the help text.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "strings.hpp"
#include "sys.hpp"


namespace kakuri {

namespace {

using Strings = std::vector<std::string>;

// Run parse_run_options on "kakuri WORDS..." with writable argv storage.
Options parse(const std::vector<const char*>& words) {
    std::vector<std::string> storage{"kakuri"};
    for (const char* w : words) storage.emplace_back(w);
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    return parse_run_options(static_cast<int>(storage.size()), argv.data());
}

// The Error parse throws for WORDS; fails the test if it does not throw one.
struct Thrown {
    bool thrown = false;
    std::string what;
    int exit_code = 0;
};

Thrown parse_error(const std::vector<const char*>& words) {
    Thrown t;
    try {
        parse(words);
    } catch (const Error& e) {
        t.thrown = true;
        t.what = e.what();
        t.exit_code = e.exit_code();
    }
    return t;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("cli: no arguments gives the defaults and no command") {
    Options o = parse({});
    CHECK(o.command.empty());
    CHECK(o.network == NetworkMode::None);
    CHECK(o.binds.empty());
    CHECK(o.binds_ro_forced.empty());
    CHECK_FALSE(o.user);
    CHECK(o.hostname.empty());
    CHECK(o.env_set.empty());
    CHECK(o.env_unset.empty());
    CHECK_FALSE(o.clearenv);
    CHECK(o.workdir.empty());
    CHECK_FALSE(o.dry_run);
    CHECK(o.verbosity == 0);
    CHECK_FALSE(o.help);
    CHECK_FALSE(o.version);
}

TEST_CASE("cli: options before the command are parsed, the command is kept whole") {
    Options o = parse({"--user", "--dry-run", "--hostname", "box", "ls", "-la", "/tmp"});
    CHECK(o.user);
    CHECK(o.dry_run);
    CHECK(o.hostname == "box");
    CHECK(o.command == Strings{"ls", "-la", "/tmp"});
}

TEST_CASE("cli: the command's own options are not parsed") {
    SUBCASE("short option after the command") {
        Options o = parse({"ls", "-la"});
        CHECK(o.command == Strings{"ls", "-la"});
        CHECK(o.verbosity == 0);
    }
    SUBCASE("kakuri's own options after the command belong to the command") {
        Options o = parse({"sh", "-v", "--user", "--network=host", "-e", "A=1"});
        CHECK(o.command == Strings{"sh", "-v", "--user", "--network=host", "-e", "A=1"});
        CHECK(o.verbosity == 0);
        CHECK_FALSE(o.user);
        CHECK(o.network == NetworkMode::None);
        CHECK(o.env_set.empty());
    }
    SUBCASE("an unknown option after the command is not an error") {
        Options o = parse({"prog", "--frobnicate"});
        CHECK(o.command == Strings{"prog", "--frobnicate"});
    }
    SUBCASE("a '--' after the command is passed on") {
        Options o = parse({"prog", "--", "x"});
        CHECK(o.command == Strings{"prog", "--", "x"});
    }
}

TEST_CASE("cli: '--' ends the options") {
    SUBCASE("a command that looks like an option") {
        Options o = parse({"--", "--foo"});
        CHECK(o.command == Strings{"--foo"});
    }
    SUBCASE("options before '--' still count") {
        Options o = parse({"-v", "--", "-q", "x"});
        CHECK(o.verbosity == 1);
        CHECK(o.command == Strings{"-q", "x"});
    }
    SUBCASE("only '--': no command") {
        Options o = parse({"--"});
        CHECK(o.command.empty());
    }
    SUBCASE("a second '--' belongs to the command") {
        Options o = parse({"--", "--", "a"});
        CHECK(o.command == Strings{"--", "a"});
    }
}

TEST_CASE("cli: verbosity from -v and -q, bundled or not") {
    CHECK(parse({"-v"}).verbosity == 1);
    CHECK(parse({"-vv"}).verbosity == 2);
    CHECK(parse({"-v", "-v", "-v"}).verbosity == 3);
    CHECK(parse({"--verbose", "--verbose"}).verbosity == 2);
    CHECK(parse({"-q"}).verbosity == -1);
    CHECK(parse({"--quiet"}).verbosity == -1);
    // -q sets -1 whatever came before; -v after -q starts again at 1.
    CHECK(parse({"-vq"}).verbosity == -1);
    CHECK(parse({"-vvq"}).verbosity == -1);
    CHECK(parse({"-qv"}).verbosity == 1);
    CHECK(parse({"-q", "-vv"}).verbosity == 2);
}

TEST_CASE("cli: bundled short options, with a value at the end of the bundle") {
    SUBCASE("value in the next word") {
        Options o = parse({"-vw", "/srv", "cmd"});
        CHECK(o.verbosity == 1);
        CHECK(o.workdir == "/srv");
        CHECK(o.command == Strings{"cmd"});
    }
    SUBCASE("value attached") {
        Options o = parse({"-veK=V", "cmd"});
        CHECK(o.verbosity == 1);
        CHECK(o.env_set == Strings{"K=V"});
        CHECK(o.command == Strings{"cmd"});
    }
    SUBCASE("-h in a bundle") {
        Options o = parse({"-vh"});
        CHECK(o.help);
        CHECK(o.verbosity == 1);
    }
}

TEST_CASE("cli: --opt=value and --opt value") {
    // Each option that takes a value, both ways, and where parse_run_options puts it.
    struct Row {
        const char* option;
        const char* value;
        std::function<Strings(const Options&)> got;
    };
    const Row rows[] = {
        {"--hostname", "box", [](const Options& o) { return Strings{o.hostname}; }},
        {"--workdir", "/a", [](const Options& o) { return Strings{o.workdir}; }},
        {"--env", "A=1", [](const Options& o) { return o.env_set; }},
        {"--unsetenv", "A", [](const Options& o) { return o.env_unset; }},
        {"--rootfs", "/srv/debian", [](const Options& o) { return Strings{o.rootfs}; }},
        {"--bind", "/a:/b", [](const Options& o) { return o.binds; }},
        {"--ro-bind", "/a", [](const Options& o) { return o.binds; }},
    };
    for (const auto& r : rows) {
        CAPTURE(r.option);
        const std::string joined = std::string(r.option) + "=" + r.value;
        CHECK(r.got(parse({joined.c_str()})) == Strings{r.value});
        CHECK(r.got(parse({r.option, r.value})) == Strings{r.value});
    }
    // The value is taken as is, even when it looks like an option.
    Options o = parse({"--hostname", "--user", "cmd"});
    CHECK(o.hostname == "--user");
    CHECK_FALSE(o.user);
    CHECK(o.command == Strings{"cmd"});
}

TEST_CASE("cli: -e repeated keeps every value in order") {
    Options o = parse({"-e", "A=1", "-e", "B", "--env=C=x=y", "-eD=", "cmd"});
    CHECK(o.env_set == Strings{"A=1", "B", "C=x=y", "D="});
    CHECK(o.command == Strings{"cmd"});
}

TEST_CASE("cli: --unsetenv repeated and --clearenv") {
    Options o = parse({"--unsetenv", "A", "--unsetenv=B", "--clearenv"});
    CHECK(o.env_unset == Strings{"A", "B"});
    CHECK(o.clearenv);
    CHECK(o.env_set.empty());
}

TEST_CASE("cli: -w DIR") {
    CHECK(parse({"-w", "/srv/x"}).workdir == "/srv/x");
    CHECK(parse({"-w/srv/x"}).workdir == "/srv/x");
    CHECK(parse({"-w", "~/p"}).workdir == "~/p");  // expanded later, by make_spec
    // The last one wins.
    CHECK(parse({"-w", "/a", "-w", "/b"}).workdir == "/b");
}

TEST_CASE("cli: --network and --allow-network") {
    CHECK(parse({"--network=none"}).network == NetworkMode::None);
    CHECK(parse({"--network=host"}).network == NetworkMode::Host);
    CHECK(parse({"--network", "host"}).network == NetworkMode::Host);
    CHECK(parse({"--allow-network"}).network == NetworkMode::Host);
    // The last one wins.
    CHECK(parse({"--allow-network", "--network=none"}).network == NetworkMode::None);
    CHECK(parse({"--network=none", "--allow-network"}).network == NetworkMode::Host);
}

TEST_CASE("cli: a bad --network value is a usage error") {
    for (const char* word : {"--network=bogus", "--network=", "--network=Host"}) {
        CAPTURE(word);
        Thrown t = parse_error({word});
        REQUIRE(t.thrown);
        CHECK(t.exit_code == 125);
        CHECK(contains(t.what, "--network"));
    }
    Thrown t = parse_error({"--network", "bogus", "cmd"});
    REQUIRE(t.thrown);
    CHECK(t.exit_code == 125);
    CHECK(contains(t.what, "'bogus'"));
    CHECK_THROWS_AS(parse({"--network=bogus"}), Error);
}

TEST_CASE("cli: an unknown option is an error naming it") {
    struct Row {
        std::vector<const char*> words;
        const char* named;
    };
    const Row rows[] = {
        {{"--frobnicate", "cmd"}, "--frobnicate"},
        {{"-x", "cmd"}, "'-x'"},
        {{"-vZ"}, "'-Z'"},                 // inside a bundle: the bad letter
        {{"--user", "--nope"}, "--nope"},  // after a good option
    };
    for (const auto& r : rows) {
        CAPTURE(r.named);
        Thrown t = parse_error(r.words);
        REQUIRE(t.thrown);
        CHECK(t.exit_code == 125);
        CHECK(contains(t.what, r.named));
    }
    CHECK(contains(parse_error({"--frobnicate"}).what, "unknown option"));
}

TEST_CASE("cli: a missing value is an error naming the option") {
    struct Row {
        std::vector<const char*> words;
        const char* named;
    };
    const Row rows[] = {
        {{"--hostname"}, "'--hostname'"}, {{"--user", "--bind"}, "'--bind'"},
        {{"--network"}, "'--network'"},   {{"-e"}, "'-e'"},
        {{"-v", "-w"}, "'-w'"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.named);
        Thrown t = parse_error(r.words);
        REQUIRE(t.thrown);
        CHECK(t.exit_code == 125);
        CHECK(contains(t.what, r.named));
        CHECK(contains(t.what, "needs a value"));
    }
}

TEST_CASE("cli: --bind and --ro-bind keep their order") {
    Options o =
        parse({"--bind", "/a", "--ro-bind=/b:/c", "--bind=/d:/e:ro", "--ro-bind", "~/f", "cmd"});
    CHECK(o.binds == Strings{"/a", "/b:/c", "/d:/e:ro", "~/f"});
    REQUIRE(o.binds_ro_forced.size() == 4);
    CHECK_FALSE(o.binds_ro_forced[0]);
    CHECK(o.binds_ro_forced[1]);
    CHECK_FALSE(o.binds_ro_forced[2]);  // ':ro' in the text is for parse_bind_spec
    CHECK(o.binds_ro_forced[3]);
    CHECK(o.command == Strings{"cmd"});
}

TEST_CASE("cli: --help and --version") {
    Options h = parse({"--help"});
    CHECK(h.help);
    CHECK_FALSE(h.version);
    CHECK(parse({"-h"}).help);
    Options v = parse({"--version"});
    CHECK(v.version);
    CHECK_FALSE(v.help);
    // A command after them is still collected.
    CHECK(parse({"--help", "ls"}).command == Strings{"ls"});
}

TEST_CASE("cli: parsing twice in one process starts afresh") {
    // A failure in the middle of a bundle leaves getopt mid-word; the next
    // parse must not carry anything over.
    CHECK(parse_error({"-vZq"}).thrown);
    Options o = parse({"ls", "-q"});
    CHECK(o.command == Strings{"ls", "-q"});
    CHECK(o.verbosity == 0);
    Options p = parse({"-q", "x"});
    CHECK(p.verbosity == -1);
    CHECK(p.command == Strings{"x"});
}

TEST_CASE("cli: --rootfs, --userns, --subids") {
    Options o = parse({"--rootfs", "./alpine", "--userns", "--subids", "sh"});
    CHECK(o.rootfs == "./alpine");
    CHECK(o.userns);
    CHECK(o.subids);
    CHECK(o.command == Strings{"sh"});
    Options d = parse({"sh"});
    CHECK(d.rootfs.empty());
    CHECK_FALSE(d.userns);
    CHECK_FALSE(d.subids);
    CHECK(parse({"--rootfs=/srv/debian"}).rootfs == "/srv/debian");
    Thrown t = parse_error({"--rootfs=", "sh"});
    CHECK(t.thrown);
    CHECK(t.exit_code == 125);
    CHECK(contains(t.what, "--rootfs needs a directory"));
}

TEST_CASE("cli: the option table") {
    const auto& t = run_option_table();
    REQUIRE_FALSE(t.empty());
    std::vector<std::string> names;
    for (const auto& o : t) {
        REQUIRE(o.long_name != nullptr);
        REQUIRE(o.help != nullptr);
        std::string name = o.long_name;
        CAPTURE(name);
        CHECK(std::count(names.begin(), names.end(), name) == 0);
        names.push_back(name);
        if (o.arg == ArgKind::Required) CHECK(o.metavar != nullptr);
    }
    for (const char* n : {"allow-network", "network", "bind", "ro-bind", "user", "hostname", "env",
                          "unsetenv", "clearenv", "workdir", "dry-run", "verbose", "quiet", "help",
                          "version", "rootfs", "userns", "subids"}) {
        CAPTURE(n);
        CHECK(std::count(names.begin(), names.end(), std::string(n)) == 1);
    }
}

TEST_CASE("cli: every long option of the table is parsed") {
    // Each option the table offers is accepted by the parser (none is missing
    // from getopt's list), and none takes the command.
    for (const auto& o : run_option_table()) {
        std::string word = std::string("--") + o.long_name;
        if (o.arg == ArgKind::Required) {
            std::string value =
                o.values ? std::string(o.values).substr(0, std::string(o.values).find('|'))
                         : std::string("/v");
            word += "=" + value;
        }
        CAPTURE(word);
        std::vector<std::string> storage{"kakuri", word, "cmd"};
        std::vector<char*> argv;
        for (auto& s : storage) argv.push_back(&s[0]);
        argv.push_back(nullptr);
        Options parsed;
        CHECK_NOTHROW(parsed = parse_run_options(3, argv.data()));
        CHECK(parsed.command == Strings{"cmd"});
    }
}

TEST_CASE("cli: the help text mentions every option of the table") {
    std::string help = run_help_text();
    CHECK(help.rfind("Usage: kakuri", 0) == 0);
    for (const auto& o : run_option_table()) {
        std::string name = std::string("--") + o.long_name;
        CAPTURE(name);
        // "--bind" must be there on its own, not just inside "--ro-bind".
        bool found = false;
        for (size_t pos = help.find(name); pos != std::string::npos;
             pos = help.find(name, pos + 1)) {
            bool start_ok = pos < 1 || help[pos - 1] != '-';
            char after = pos + name.size() < help.size() ? help[pos + name.size()] : '\n';
            bool end_ok = after == ' ' || after == '=' || after == '\n';
            if (start_ok && end_ok) found = true;
        }
        CHECK(found);
        CHECK(contains(help, o.help));
        if (o.short_name) CHECK(contains(help, std::string("-") + o.short_name + ", " + name));
        if (o.arg == ArgKind::Required) CHECK(contains(help, o.metavar));
    }
}

TEST_CASE("cli: version text") {
    std::string v = version_text();
    CHECK(v.rfind("kakuri ", 0) == 0);
    CHECK(v.size() > std::string("kakuri \n").size());
    CHECK(v.back() == '\n');
}

TEST_CASE("cli: control characters in paths are refused, the value escaped on one line") {
    for (const char* opt : {"--bind", "--ro-bind", "--rootfs", "--workdir", "-w", "--config"}) {
        Thrown t = parse_error({opt, "/a\nb\x1b", "cmd"});
        REQUIRE_MESSAGE(t.thrown, opt);
        CHECK(t.exit_code == 125);
        CHECK_MESSAGE(
            contains(t.what, "'/a\\nb\\x1b': control characters are not allowed in paths"), t.what);
        CHECK(t.what.find('\n') == std::string::npos);
    }
    CHECK(parse({"-w", "/tmp/ä b"}).workdir == "/tmp/ä b");  // UTF-8 and spaces are fine
}

}  // namespace kakuri

namespace kakuri {

namespace {

// parse_global_options on "kakuri WORDS...": the index of the first other word and the config.
std::pair<int, std::string> global(std::initializer_list<const char*> words) {
    std::vector<std::string> storage{"kakuri"};
    for (const char* w : words) storage.emplace_back(w);
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    std::string config;
    int first = parse_global_options(static_cast<int>(storage.size()), argv.data(), config);
    return {first, config};
}

}  // namespace

TEST_CASE("cli: --config before a subcommand is a global option") {
    CHECK(global({"list"}) == std::pair<int, std::string>{1, ""});
    CHECK(global({"--config", "a.toml", "list"}) == std::pair<int, std::string>{3, "a.toml"});
    CHECK(global({"--config=a.toml", "create", "x"}) == std::pair<int, std::string>{2, "a.toml"});
    // The last one wins; anything else ends them (a run's options are parse_run_options').
    CHECK(global({"--config", "a", "--config=b", "ls"}) == std::pair<int, std::string>{4, "b"});
    CHECK(global({"--user", "--config", "a", "list"}) == std::pair<int, std::string>{1, ""});
    // Without its value: left to the run options, which say so.
    CHECK(global({"--config"}) == std::pair<int, std::string>{1, ""});
    CHECK_THROWS_AS(global({"--config", "a\nb", "list"}), Error);
}

}  // namespace kakuri
