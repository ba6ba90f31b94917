// Unit tests for cli: parse_run_options, the option table and the help text.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli.hpp"
#include "strings.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

using Strings = std::vector<std::string>;

// "kakuri WORDS..." as main() is given it: writable words, a null at the end.
class Argv {
public:
    explicit Argv(const std::vector<const char*>& words) : words_{"kakuri"} {
        for (const char* w : words) words_.emplace_back(w);
        for (auto& w : words_) argv_.push_back(&w[0]);
        argv_.push_back(nullptr);
    }
    Argv(const Argv&) = delete;
    Argv& operator=(const Argv&) = delete;
    int argc() const { return static_cast<int>(words_.size()); }
    char** argv() { return argv_.data(); }

private:
    std::vector<std::string> words_;
    std::vector<char*> argv_;  // into words_
};

Options parse(const std::vector<const char*>& words) {
    Argv a(words);
    return parse_run_options(a.argc(), a.argv());
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

// "kakuri WORDS...", for messages.
std::string shown(const std::vector<const char*>& words) {
    std::string out = "kakuri";
    for (const char* w : words) out += std::string(" ") + w;
    return out;
}

Strings flag(bool b) {
    return {b ? "yes" : "no"};
}

// The fields of Options a row can name, each as words: a list as it is, a flag as yes or no,
// anything else as one word.
Strings field(const Options& opts, const std::string& name) {
    using Get = std::function<Strings(const Options&)>;
    static const std::map<std::string, Get> fields = {
        {"command", [](const Options& o) { return o.command; }},
        {"network",
         [](const Options& o) {
             return Strings{o.network == NetworkMode::Host ? "host" : "none"};
         }},
        {"binds", [](const Options& o) { return o.binds; }},
        {"binds_ro_forced",
         [](const Options& o) {
             Strings out;
             for (bool ro : o.binds_ro_forced) out.push_back(flag(ro)[0]);
             return out;
         }},
        {"user", [](const Options& o) { return flag(o.user); }},
        {"hostname", [](const Options& o) { return Strings{o.hostname}; }},
        {"rootfs", [](const Options& o) { return Strings{o.rootfs}; }},
        {"userns", [](const Options& o) { return flag(o.userns); }},
        {"subids", [](const Options& o) { return flag(o.subids); }},
        {"env_set", [](const Options& o) { return o.env_set; }},
        {"env_unset", [](const Options& o) { return o.env_unset; }},
        {"clearenv", [](const Options& o) { return flag(o.clearenv); }},
        {"workdir", [](const Options& o) { return Strings{o.workdir}; }},
        {"dry_run", [](const Options& o) { return flag(o.dry_run); }},
        {"verbosity", [](const Options& o) { return Strings{std::to_string(o.verbosity)}; }},
        {"help", [](const Options& o) { return flag(o.help); }},
        {"version", [](const Options& o) { return flag(o.version); }},
    };
    auto it = fields.find(name);
    REQUIRE_MESSAGE(it != fields.end(), "no field " << name);
    return it->second(opts);
}

// A command line and what parse_run_options makes of it: fields and their values.
struct Parsed {
    std::vector<const char*> words;
    std::vector<std::pair<const char*, Strings>> want;
};

void check(const std::vector<Parsed>& rows) {
    for (const auto& r : rows) {
        CAPTURE(shown(r.words));
        const Options o = parse(r.words);
        for (const auto& w : r.want) {
            CAPTURE(w.first);
            CHECK(field(o, w.first) == w.second);
        }
    }
}

// A command line parse_run_options refuses: a usage error (exit 125), one line, saying each of
// these.
struct Refused {
    std::vector<const char*> words;
    std::vector<const char*> says;
};

void check(const std::vector<Refused>& rows) {
    for (const auto& r : rows) {
        CAPTURE(shown(r.words));
        const Thrown t = parse_error(r.words);
        REQUIRE(t.thrown);
        CHECK(t.exit_code == 125);
        for (const char* said : r.says) CHECK_MESSAGE(contains(t.what, said), t.what);
        CHECK(t.what.find('\n') == std::string::npos);
    }
}

}  // namespace

TEST_CASE("cli: no arguments gives the defaults and no command") {
    check(std::vector<Parsed>{
        {{},
         {{"command", {}},
          {"network", {"none"}},
          {"binds", {}},
          {"binds_ro_forced", {}},
          {"user", {"no"}},
          {"hostname", {""}},
          {"env_set", {}},
          {"env_unset", {}},
          {"clearenv", {"no"}},
          {"workdir", {""}},
          {"dry_run", {"no"}},
          {"verbosity", {"0"}},
          {"help", {"no"}},
          {"version", {"no"}}}},
        {{"sh"}, {{"rootfs", {""}}, {"userns", {"no"}}, {"subids", {"no"}}}},
    });
}

TEST_CASE("cli: options before the command are parsed, the command is kept whole") {
    check(std::vector<Parsed>{
        {{"--user", "--dry-run", "--hostname", "box", "ls", "-la", "/tmp"},
         {{"user", {"yes"}},
          {"dry_run", {"yes"}},
          {"hostname", {"box"}},
          {"command", {"ls", "-la", "/tmp"}}}},
        {{"--rootfs", "./alpine", "--userns", "--subids", "sh"},
         {{"rootfs", {"./alpine"}}, {"userns", {"yes"}}, {"subids", {"yes"}}, {"command", {"sh"}}}},
    });
}

TEST_CASE("cli: the command's own options are not parsed") {
    check(std::vector<Parsed>{
        {{"ls", "-la"}, {{"command", {"ls", "-la"}}, {"verbosity", {"0"}}}},
        // kakuri's own options after the command belong to the command.
        {{"sh", "-v", "--user", "--network=host", "-e", "A=1"},
         {{"command", {"sh", "-v", "--user", "--network=host", "-e", "A=1"}},
          {"verbosity", {"0"}},
          {"user", {"no"}},
          {"network", {"none"}},
          {"env_set", {}}}},
        // An unknown option after the command is not an error.
        {{"prog", "--frobnicate"}, {{"command", {"prog", "--frobnicate"}}}},
        {{"prog", "--", "x"}, {{"command", {"prog", "--", "x"}}}},
    });
}

TEST_CASE("cli: '--' ends the options") {
    check(std::vector<Parsed>{
        {{"--", "--foo"}, {{"command", {"--foo"}}}},  // a command that looks like an option
        {{"-v", "--", "-q", "x"}, {{"verbosity", {"1"}}, {"command", {"-q", "x"}}}},
        {{"--"}, {{"command", {}}}},
        {{"--", "--", "a"}, {{"command", {"--", "a"}}}},  // the second one is the command's
    });
}

TEST_CASE("cli: verbosity from -v and -q, bundled or not") {
    check(std::vector<Parsed>{
        {{"-v"}, {{"verbosity", {"1"}}}},
        {{"-vv"}, {{"verbosity", {"2"}}}},
        {{"-v", "-v", "-v"}, {{"verbosity", {"3"}}}},
        {{"--verbose", "--verbose"}, {{"verbosity", {"2"}}}},
        {{"-q"}, {{"verbosity", {"-1"}}}},
        {{"--quiet"}, {{"verbosity", {"-1"}}}},
        // -q sets -1 whatever came before; -v after -q starts again at 1.
        {{"-vq"}, {{"verbosity", {"-1"}}}},
        {{"-vvq"}, {{"verbosity", {"-1"}}}},
        {{"-qv"}, {{"verbosity", {"1"}}}},
        {{"-q", "-vv"}, {{"verbosity", {"2"}}}},
    });
}

TEST_CASE("cli: bundled short options, with a value at the end of the bundle") {
    check(std::vector<Parsed>{
        {{"-vw", "/srv", "cmd"},
         {{"verbosity", {"1"}}, {"workdir", {"/srv"}}, {"command", {"cmd"}}}},
        {{"-veK=V", "cmd"}, {{"verbosity", {"1"}}, {"env_set", {"K=V"}}, {"command", {"cmd"}}}},
        {{"-vh"}, {{"help", {"yes"}}, {"verbosity", {"1"}}}},
    });
}

TEST_CASE("cli: --opt=value and --opt value") {
    // Each option that takes a value, both ways, and the field it goes to.
    struct Row {
        const char* option;
        const char* field;
        const char* value;
    };
    const Row rows[] = {
        {"--hostname", "hostname", "box"},     {"--workdir", "workdir", "/a"},
        {"--env", "env_set", "A=1"},           {"--unsetenv", "env_unset", "A"},
        {"--rootfs", "rootfs", "/srv/debian"}, {"--bind", "binds", "/a:/b"},
        {"--ro-bind", "binds", "/a"},
    };
    for (const auto& r : rows) {
        const std::string joined = std::string(r.option) + "=" + r.value;
        check(std::vector<Parsed>{
            {{joined.c_str()}, {{r.field, {r.value}}}},
            {{r.option, r.value}, {{r.field, {r.value}}}},
        });
    }
    check(std::vector<Parsed>{
        // The value is taken as is, even when it looks like an option.
        {{"--hostname", "--user", "cmd"},
         {{"hostname", {"--user"}}, {"user", {"no"}}, {"command", {"cmd"}}}},
        {{"--rootfs=/srv/debian"}, {{"rootfs", {"/srv/debian"}}}},
    });
}

TEST_CASE("cli: repeated options: every value in order, or the last one") {
    check(std::vector<Parsed>{
        {{"-e", "A=1", "-e", "B", "--env=C=x=y", "-eD=", "cmd"},
         {{"env_set", {"A=1", "B", "C=x=y", "D="}}, {"command", {"cmd"}}}},
        {{"--unsetenv", "A", "--unsetenv=B", "--clearenv"},
         {{"env_unset", {"A", "B"}}, {"clearenv", {"yes"}}, {"env_set", {}}}},
        {{"-w", "/srv/x"}, {{"workdir", {"/srv/x"}}}},
        {{"-w/srv/x"}, {{"workdir", {"/srv/x"}}}},
        {{"-w", "~/p"}, {{"workdir", {"~/p"}}}},  // expanded later, by make_spec
        {{"-w", "/a", "-w", "/b"}, {{"workdir", {"/b"}}}},
        {{"-w", "/tmp/ä b"}, {{"workdir", {"/tmp/ä b"}}}},  // UTF-8 and spaces are fine
        // ':ro' in the text is for parse_bind_spec; ro_forced says it came from --ro-bind.
        {{"--bind", "/a", "--ro-bind=/b:/c", "--bind=/d:/e:ro", "--ro-bind", "~/f", "cmd"},
         {{"binds", {"/a", "/b:/c", "/d:/e:ro", "~/f"}},
          {"binds_ro_forced", {"no", "yes", "no", "yes"}},
          {"command", {"cmd"}}}},
    });
}

TEST_CASE("cli: --network and --allow-network") {
    check(std::vector<Parsed>{
        {{"--network=none"}, {{"network", {"none"}}}},
        {{"--network=host"}, {{"network", {"host"}}}},
        {{"--network", "host"}, {{"network", {"host"}}}},
        {{"--allow-network"}, {{"network", {"host"}}}},
        // The last one wins.
        {{"--allow-network", "--network=none"}, {{"network", {"none"}}}},
        {{"--network=none", "--allow-network"}, {{"network", {"host"}}}},
    });
}

TEST_CASE("cli: --help and --version") {
    check(std::vector<Parsed>{
        {{"--help"}, {{"help", {"yes"}}, {"version", {"no"}}}},
        {{"-h"}, {{"help", {"yes"}}}},
        {{"--version"}, {{"version", {"yes"}}, {"help", {"no"}}}},
        {{"--help", "ls"}, {{"command", {"ls"}}}},  // a command after them is still collected
    });
}

TEST_CASE("cli: usage errors are one line naming what is wrong") {
    check(std::vector<Refused>{
        // A bad --network value.
        {{"--network=bogus"}, {"--network"}},
        {{"--network="}, {"--network"}},
        {{"--network=Host"}, {"--network"}},
        {{"--network", "bogus", "cmd"}, {"'bogus'"}},
        // An unknown option.
        {{"--frobnicate"}, {"--frobnicate", "unknown option"}},
        {{"--frobnicate", "cmd"}, {"--frobnicate"}},
        {{"-x", "cmd"}, {"'-x'"}},
        {{"-vZ"}, {"'-Z'"}},                 // inside a bundle: the bad letter
        {{"--user", "--nope"}, {"--nope"}},  // after a good option
        // A missing value.
        {{"--hostname"}, {"'--hostname'", "needs a value"}},
        {{"--user", "--bind"}, {"'--bind'", "needs a value"}},
        {{"--network"}, {"'--network'", "needs a value"}},
        {{"-e"}, {"'-e'", "needs a value"}},
        {{"-v", "-w"}, {"'-w'", "needs a value"}},
        {{"--rootfs=", "sh"}, {"--rootfs needs a directory"}},
    });
}

TEST_CASE("cli: control characters in paths are refused, the value escaped on one line") {
    const char* bad = "/a\nb\x1b";
    const char* says = "'/a\\nb\\x1b': control characters are not allowed in paths";
    check(std::vector<Refused>{
        {{"--bind", bad, "cmd"}, {says}},
        {{"--ro-bind", bad, "cmd"}, {says}},
        {{"--rootfs", bad, "cmd"}, {says}},
        {{"--workdir", bad, "cmd"}, {says}},
        {{"-w", bad, "cmd"}, {says}},
        {{"--config", bad, "cmd"}, {says}},
    });
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
            // A value each takes: the first of its choices, a size, a sample of what it reads,
            // a path.
            const std::string name = o.long_name;
            std::string value =
                o.values ? std::string(o.values).substr(0, std::string(o.values).find('|'))
                : std::string(o.metavar) == "SIZE" ? std::string("64M")
                : name == "publish"                ? std::string("8080:80")
                : name == "dns"                    ? std::string("192.0.2.53")
                : std::string(o.metavar) == "N"    ? std::string("50")
                : std::string(o.metavar) == "CPUS" ? std::string("0.5")
                                                   : std::string("/v");
            word += "=" + value;
        }
        CAPTURE(word);
        Options parsed;
        CHECK_NOTHROW(parsed = parse({word.c_str(), "cmd"}));
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

TEST_CASE("cli: --config before a subcommand is a global option") {
    // parse_global_options: the index of the first other word, and the config file.
    struct Row {
        std::vector<const char*> words;
        int first;
        const char* config;
    };
    const Row rows[] = {
        {{"list"}, 1, ""},
        {{"--config", "a.toml", "list"}, 3, "a.toml"},
        {{"--config=a.toml", "create", "x"}, 2, "a.toml"},
        // The last one wins; anything else ends them (a run's options are parse_run_options').
        {{"--config", "a", "--config=b", "ls"}, 4, "b"},
        {{"--user", "--config", "a", "list"}, 1, ""},
        // Without its value: left to the run options, which say so.
        {{"--config"}, 1, ""},
    };
    for (const auto& r : rows) {
        CAPTURE(shown(r.words));
        Argv a(r.words);
        std::string config;
        CHECK(parse_global_options(a.argc(), a.argv(), config) == r.first);
        CHECK(config == r.config);
    }
    Argv bad({"--config", "a\nb", "list"});
    std::string config;
    CHECK_THROWS_AS(parse_global_options(bad.argc(), bad.argv(), config), Error);
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE("cli: --memory, --pids-limit, --cpus, --tmpfs-size; a bad value is one line, 125") {
    Options o = parse(
        {"--memory", "1.5G", "--pids-limit", "50", "--cpus=0.5", "--tmpfs-size", "512M", "cmd"});
    CHECK(o.memory == "1.5G");
    CHECK(o.pids_limit == "50");
    CHECK(o.cpus == "0.5");
    CHECK(o.tmpfs_size == "512M");
    CHECK(o.command == Strings{"cmd"});
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"--memory", "lots"},    {"--memory", "0"},      {"--memory", "1.5"}, {"--pids-limit", "0"},
        {"--pids-limit", "1.5"}, {"--pids-limit", "-3"}, {"--cpus", "0"},     {"--cpus", "half"},
        {"--cpus", "2000"},      {"--tmpfs-size", "1K"}};
    for (const auto& [opt, value] : bad) {
        CAPTURE(opt);
        CAPTURE(value);
        try {
            parse({opt.c_str(), value.c_str(), "cmd"});
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.exit_code() == 125);
            CHECK(std::string(e.what()).rfind(opt + " takes ", 0) == 0);
            CHECK(std::string(e.what()).find('\n') == std::string::npos);
        }
    }
}

}  // namespace kakuri
