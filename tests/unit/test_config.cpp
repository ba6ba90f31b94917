// Unit tests for config: value syntax, FILE:LINE errors, override order, config_paths and
// load_config_file on real temporary files.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "config.hpp"
#include "scratch.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

using Strings = std::vector<std::string>;

// README's sample configuration (Configuration), which kakuri.conf(5) shows too: one file,
// tests/sample-config.toml, that the docs test holds both to.
std::string sample() {
    std::ifstream f(KAKURI_SAMPLE_CONFIG);
    REQUIRE_MESSAGE(f, KAKURI_SAMPLE_CONFIG);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

Config parse(const std::string& text, const std::string& file = "c.toml") {
    Config cfg = default_config();
    parse_config(text, file, cfg);
    return cfg;
}

// The message of the Error parsing text throws, or "(no error)".
std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const Error& e) {
        CHECK(e.exit_code() == 125);
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("config: defaults carry no origin") {
    Config c = default_config();
    CHECK(c.containers_dir.value == "~/.local/kakuri/containers");
    CHECK(c.containers_dir.origin.file.empty());
    CHECK_FALSE(c.containers_dir.set);
    CHECK(c.allow_network.value == false);
    CHECK(c.network.value == "none");
    CHECK(c.user.value == false);
    CHECK(c.hostname.value == "");
    CHECK(c.auto_mount.value == "rw");
    CHECK(c.seccomp.value == "default");
    CHECK(c.subids.value == false);
    CHECK(c.bind.value.empty());
    CHECK(c.bind_profiles.value.empty());
    CHECK(c.env.value.empty());
    CHECK(c.profiles.empty());
}

TEST_CASE("config: README's sample parses exactly, with file lines") {
    Config c = parse(sample(), "/home/u/.config/container/config.toml");
    CHECK(c.containers_dir.value == "~/.local/kakuri/containers");
    CHECK(c.containers_dir.set);
    CHECK(c.containers_dir.origin.file == "/home/u/.config/container/config.toml");
    CHECK(c.containers_dir.origin.line == 2);
    CHECK(c.allow_network.value == false);
    CHECK(c.allow_network.set);
    CHECK(c.allow_network.origin.line == 5);
    REQUIRE(c.profiles.size() == 2);
    CHECK(c.profiles["dev"].entries == Strings{"~/.config", "~/.local", "~/.cache", "~/.ssh"});
    CHECK(c.profiles["dev"].origin.line == 8);
    CHECK(c.profiles["dev"].origin.file == "/home/u/.config/container/config.toml");
    CHECK(c.profiles["minimal"].entries == Strings{"~/.cache"});
    CHECK(c.profiles["minimal"].origin.line == 14);
    // Untouched keys keep their defaults.
    CHECK_FALSE(c.network.set);
    CHECK(c.network.value == "none");
}

TEST_CASE("config: the sample without a final newline, with CRLF, with a BOM, with blanks") {
    const std::string s = sample();
    Config a = parse(s.substr(0, s.size() - 1));
    CHECK(a.profiles["minimal"].entries == Strings{"~/.cache"});
    CHECK(a.profiles["minimal"].origin.line == 14);

    // Blanks at the ends of lines (a copy from a web page has them): nothing changes.
    std::string blanks;
    for (char ch : s) blanks += ch == '\n' ? std::string(" \t\n") : std::string(1, ch);
    Config d = parse(blanks);
    CHECK(d.containers_dir.value == "~/.local/kakuri/containers");
    CHECK(d.profiles["dev"].entries == Strings{"~/.config", "~/.local", "~/.cache", "~/.ssh"});
    CHECK(d.profiles["minimal"].origin.line == 14);

    std::string crlf;
    for (char ch : s) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    Config b = parse(crlf);
    CHECK(b.containers_dir.value == "~/.local/kakuri/containers");
    CHECK(b.profiles["dev"].entries.size() == 4);
    CHECK(b.profiles["minimal"].origin.line == 14);

    Config c = parse("\xEF\xBB\xBF" + s);
    CHECK(c.containers_dir.origin.line == 2);
}

TEST_CASE("config: every [defaults] key") {
    Config c = parse(
        "[defaults]\n"
        "allow_network = true\n"
        "network = \"host\"\n"
        "user = true\n"
        "hostname = \"box\"\n"
        "auto_mount = \"ro\"\n"
        "seccomp = \"off\"\n"
        "subids = true\n"
        "bind = [\"/data\", \"~/src:/src:ro\", \"/a:rw\"]\n"
        "bind_profiles = [\"dev\", \"minimal\"]\n"
        "env = [\"EDITOR=vi\", \"EMPTY=\", \"A=b=c\"]\n");
    CHECK(c.allow_network.value);
    CHECK(c.network.value == "host");
    CHECK(c.network.origin.line == 3);
    CHECK(c.user.value);
    CHECK(c.hostname.value == "box");
    CHECK(c.auto_mount.value == "ro");
    CHECK(c.seccomp.value == "off");
    CHECK(c.subids.value);
    CHECK(c.bind.value == Strings{"/data", "~/src:/src:ro", "/a:rw"});
    CHECK(c.bind.origin.line == 9);
    CHECK(c.bind_profiles.value == Strings{"dev", "minimal"});
    CHECK(c.env.value == Strings{"EDITOR=vi", "EMPTY=", "A=b=c"});
    CHECK(c.env.set);
}

TEST_CASE("config: tmpfs_size, a size or \"\" for the default") {
    Config c = parse("[defaults]\ntmpfs_size = \"1.5G\"\n");
    CHECK(c.tmpfs_size.value == 3ULL << 29);
    CHECK(c.tmpfs_size.origin.line == 2);
    parse_config("[defaults]\ntmpfs_size = \"\"\n", "later.toml", c);
    CHECK(c.tmpfs_size.value == 0);
    CHECK(c.tmpfs_size.origin.file == "later.toml");
    for (const char* bad : {"\"1x\"", "\"0\"", "\"512K\"", "true", "[\"1G\"]", "\"-1G\""}) {
        CAPTURE(bad);
        Config d = default_config();
        CHECK_THROWS_WITH_AS(
            parse_config(std::string("[defaults]\ntmpfs_size = ") + bad + "\n", "f.toml", d),
            doctest::Contains("f.toml:2: tmpfs_size takes a"), Error);
        CHECK(d.tmpfs_size.value == 0);
    }
}

TEST_CASE("config: env_drop and env_keep") {
    Config d = default_config();
    CHECK(d.env_drop.value.empty());
    CHECK(d.env_keep.value.empty());
    CHECK_FALSE(d.env_drop.set);
    Config c = parse(
        "[defaults]\n"
        "env_drop = [\"CORP_*\", \"*_PIN\", INTERNAL_URL]\n"
        "env_keep = [\n"
        "    \"GITHUB_TOKEN\",   # the forge's, on purpose\n"
        "    \"*\",\n"
        "    \"lower_case\",\n"
        "]\n");
    CHECK(c.env_drop.value == Strings{"CORP_*", "*_PIN", "INTERNAL_URL"});
    CHECK(c.env_drop.origin.line == 2);
    CHECK(c.env_drop.set);
    CHECK(c.env_keep.value == Strings{"GITHUB_TOKEN", "*", "lower_case"});
    CHECK(c.env_keep.origin.line == 3);
    // A later file replaces the list, as for every key.
    parse_config("[defaults]\nenv_keep = []\n", "d.toml", c);
    CHECK(c.env_keep.value.empty());
    CHECK(c.env_keep.origin.file == "d.toml");
    CHECK(c.env_drop.value == Strings{"CORP_*", "*_PIN", "INTERNAL_URL"});
}

TEST_CASE("config: bad env_drop and env_keep entries, without echoing a value") {
    CHECK(error_of("[defaults]\nenv_keep = [\"GITHUB_TOKEN=fake-gh-123\"]\n") ==
          "c.toml:2: entry 1 of env_keep is a NAME, not NAME=VALUE");
    CHECK(error_of("[defaults]\nenv_drop = [\"=fake\"]\n") ==
          "c.toml:2: entry 1 of env_drop is a NAME, not NAME=VALUE");
    CHECK(error_of("[defaults]\nenv_drop = [\"A*B\"]\n") ==
          "c.toml:2: entry 1 of env_drop is not a NAME, *SUFFIX, PREFIX* or *");
    CHECK(error_of("[defaults]\nenv_drop = [\"*TOKEN*\"]\n") ==
          "c.toml:2: entry 1 of env_drop is not a NAME, *SUFFIX, PREFIX* or *");
    CHECK(error_of("[defaults]\nenv_keep = [\"\"]\n") ==
          "c.toml:2: entry 1 of env_keep is not a NAME, *SUFFIX, PREFIX* or *");
    CHECK(error_of("[defaults]\nenv_keep = [\"TWO WORDS\"]\n") ==
          "c.toml:2: entry 1 of env_keep is not a NAME, *SUFFIX, PREFIX* or *");
    CHECK(error_of("[defaults]\nenv_keep = \"GITHUB_TOKEN\"\n") ==
          "c.toml:2: 'env_keep' takes a list like [\"...\"], not a string");
    CHECK(error_of("[defaults]\nenv_keeps = []\n") ==
          "c.toml:2: unknown key 'env_keeps' in [defaults] (did you mean 'env_keep'?)");
    CHECK(error_of("env_drop = []\n") ==
          "c.toml:1: 'env_drop' is outside any section (it belongs under [defaults])");
}

TEST_CASE("config: bare words are strings; quotes, escapes and special characters") {
    Config c = parse(
        "[defaults]\n"
        "network = host\n"
        "auto_mount = off\n"
        "hostname = \"a \\\"quoted\\\" \\\\ name; with # and [x], y\"\n"
        "env = [A=1, \"B=two words\"]\n"
        "[storage]\n"
        "containers_dir = /var/lib/kakuri\n");
    CHECK(c.network.value == "host");
    CHECK(c.auto_mount.value == "off");
    CHECK(c.hostname.value == "a \"quoted\" \\ name; with # and [x], y");
    CHECK(c.env.value == Strings{"A=1", "B=two words"});
    CHECK(c.containers_dir.value == "/var/lib/kakuri");
    // An empty string is a value (hostname "" means kakuri's default).
    CHECK(parse("[defaults]\nhostname = \"\"\n").hostname.set);
}

TEST_CASE("config: config_string writes what the parser reads back") {
    CHECK(config_string("plain") == "\"plain\"");
    CHECK(config_string("") == "\"\"");
    CHECK(config_string("a\"b") == "\"a\\\"b\"");
    CHECK(config_string("C:\\x\\") == "\"C:\\\\x\\\\\"");
    for (const std::string v :
         {"", "plain", "a\"b", "\\", "\\\"", "\"\\\"", "x # y; [z], w", "tab\there"}) {
        CAPTURE(v);
        CHECK(parse("[defaults]\nhostname = " + config_string(v) + "\n").hostname.value == v);
        if (v.empty()) continue;  // an empty bind entry is refused
        CHECK(parse("[defaults]\nbind = [" + config_string(v) + ", " + config_string(v) + "]\n")
                  .bind.value == Strings{v, v});
    }
}

TEST_CASE("config: comments and blank lines") {
    Config c = parse(
        "# a comment\n"
        "; an ini comment\n"
        "\n"
        "   \t\n"
        "  # an indented comment\n"
        "[defaults]   # after a header\n"
        "  user = true   # after a value\n"
        "network=host#tight\n"
        "hostname = \"x#y\" # the first # is inside the quotes\n"
        "bind = [ # after the opening bracket\n"
        "  # a whole line inside a list\n"
        "\n"
        "  \"/a\", # after an item\n"
        "  ; an ini comment inside a list\n"
        "  \"/b\"\n"
        "]\n");
    CHECK(c.user.value);
    CHECK(c.user.origin.line == 7);
    CHECK(c.network.value == "host");
    CHECK(c.hostname.value == "x#y");
    CHECK(c.bind.value == Strings{"/a", "/b"});
    CHECK(c.bind.origin.line == 10);
}

TEST_CASE("config: list forms") {
    Config c = parse(
        "[defaults]\n"
        "bind = []\n"
        "env = [ ]\n"
        "bind_profiles = [\"a\",]\n"
        "[bind_profiles]\n"
        "one = [ \"/x\" ,\"/y\" , ]\n"
        "two = [\n"
        "  \"/p\",\n"
        "  \"/q\",\n"
        "]\n"
        "three = [\"/r\",\n"
        "         \"/s\"]\n"
        "four = [\n"
        "]\n"
        "five = [\n"
        "\"/t\"\n"
        "  ]   \n");
    CHECK(c.bind.set);
    CHECK(c.bind.value.empty());
    CHECK(c.env.value.empty());
    CHECK(c.bind_profiles.value == Strings{"a"});
    CHECK(c.profiles["one"].entries == Strings{"/x", "/y"});
    CHECK(c.profiles["two"].entries == Strings{"/p", "/q"});
    CHECK(c.profiles["two"].origin.line == 7);
    CHECK(c.profiles["three"].entries == Strings{"/r", "/s"});
    CHECK(c.profiles["three"].origin.line == 11);
    CHECK(c.profiles["four"].entries.empty());
    CHECK(c.profiles["five"].entries == Strings{"/t"});
    CHECK(c.profiles["five"].origin.line == 15);
}

TEST_CASE("config: a long multi-line list is not cut at inih's line limit") {
    std::string text = "[bind_profiles]\nbig = [\n";
    Strings want;
    for (int i = 0; i < 100; ++i) {
        want.push_back("/some/fairly/long/path/number/" + std::to_string(i));
        text += "  \"" + want.back() + "\",\n";
    }
    text += "]\n[defaults]\nuser = true\n";
    Config c = parse(text);
    CHECK(c.profiles["big"].entries == want);
    CHECK(c.user.origin.line == 105);
    CHECK(error_of(text + "oops = 1\n") == "c.toml:106: unknown key 'oops' in [defaults]");
}

TEST_CASE("config: a key too long for inih's line buffer is an error, not a split line") {
    std::string err = error_of("[defaults]\n" + std::string(300, 'k') + " = 1\n");
    CHECK(err.rfind("c.toml:2: ", 0) == 0);
}

TEST_CASE("config: unknown section, with and without a suggestion") {
    CHECK(error_of("[defaults]\nuser = true\n\n[defualts]\n") ==
          "c.toml:4: unknown section [defualts] (did you mean [defaults]?)");
    CHECK(error_of("[storage]\n[bind-profiles]\n") ==
          "c.toml:2: unknown section [bind-profiles] (did you mean [bind_profiles]?)");
    CHECK(error_of("# x\n[network]\n") == "c.toml:2: unknown section [network]");
    CHECK(error_of("[defaults.x]\n") ==
          "c.toml:1: unknown section [defaults.x] (did you mean [defaults]?)");
    CHECK(error_of("[]\n") == "c.toml:1: unknown section");
    CHECK(error_of("[defaults\n") == "c.toml:1: section header is not closed: missing ']'");
    CHECK(error_of("[defaults] user = true\n") == "c.toml:1: unexpected text after [defaults]");
}

TEST_CASE("config: unknown key, with and without a suggestion") {
    CHECK(error_of("[defaults]\nuser = true\nalow_network = true\n") ==
          "c.toml:3: unknown key 'alow_network' in [defaults] (did you mean 'allow_network'?)");
    CHECK(error_of("[defaults]\nnetwrok = host\n") ==
          "c.toml:2: unknown key 'netwrok' in [defaults] (did you mean 'network'?)");
    CHECK(error_of("[defaults]\nAuto_Mount = ro\n") ==
          "c.toml:2: unknown key 'Auto_Mount' in [defaults] (did you mean 'auto_mount'?)");
    CHECK(error_of("[storage]\ncontainer_dir = \"/x\"\n") ==
          "c.toml:2: unknown key 'container_dir' in [storage] (did you mean 'containers_dir'?)");
    CHECK(error_of("[defaults]\ncolour = \"blue\"\n") ==
          "c.toml:2: unknown key 'colour' in [defaults]");
    // A [storage] key under [defaults] is just unknown there.
    CHECK(error_of("[defaults]\ncontainers_dir = \"/x\"\n") ==
          "c.toml:2: unknown key 'containers_dir' in [defaults]");
}

TEST_CASE("config: key outside any section") {
    CHECK(error_of("\n# top\nallow_network = true\n[defaults]\n") ==
          "c.toml:3: 'allow_network' is outside any section (it belongs under [defaults])");
    CHECK(error_of("containers_dir = \"/x\"\n") ==
          "c.toml:1: 'containers_dir' is outside any section (it belongs under [storage])");
    CHECK(error_of("foo = 1\n") ==
          "c.toml:1: 'foo' is outside any section (sections are [storage], [defaults], "
          "[bind_profiles])");
}

TEST_CASE("config: bad booleans") {
    CHECK(error_of("[defaults]\n\nallow_network = yes\n") ==
          "c.toml:3: allow_network takes true or false");
    CHECK(error_of("[defaults]\nuser = \"true\"\n") ==
          "c.toml:2: user takes true or false, not a string");
    CHECK(error_of("[defaults]\nsubids = True\n") == "c.toml:2: subids takes true or false");
    CHECK(error_of("[defaults]\nsubids = [true]\n") ==
          "c.toml:2: subids takes true or false, not a list");
}

TEST_CASE("config: bad enum and string values") {
    CHECK(error_of("[defaults]\nnetwork = \"bridge\"\n") ==
          "c.toml:2: network takes none, host or private");
    CHECK(error_of("[defaults]\nauto_mount = yes\n") == "c.toml:2: auto_mount takes rw, ro or off");
    CHECK(error_of("[defaults]\nseccomp = \"\"\n") == "c.toml:2: seccomp takes default or off");
    CHECK(error_of("[defaults]\nhostname = [\"a\"]\n") ==
          "c.toml:2: hostname takes a string, not a list");
    CHECK(error_of("[storage]\ncontainers_dir = \"\"\n") ==
          "c.toml:2: containers_dir must not be empty");
    CHECK(error_of("[defaults]\nbind = \"/data\"\n") ==
          "c.toml:2: 'bind' takes a list like [\"...\"], not a string");
    CHECK(error_of("[defaults]\nenv = [\"FOO\"]\n") ==
          "c.toml:2: entry 1 of env is not NAME=VALUE");
    CHECK(error_of("[defaults]\nenv = [\"=x\"]\n") == "c.toml:2: entry 1 of env has no NAME");
    CHECK(error_of("[defaults]\nbind_profiles = [\"dev\", \"my profile\"]\n") ==
          "c.toml:2: entry 2 of bind_profiles is not a profile name");
}

TEST_CASE("config: value syntax errors") {
    CHECK(error_of("[defaults]\nhostname =\n") == "c.toml:2: 'hostname' has no value");
    CHECK(error_of("[defaults]\nhostname = # none\n") == "c.toml:2: 'hostname' has no value");
    CHECK(error_of("[defaults]\nhostname = \"box\n") ==
          "c.toml:2: string is not closed: missing '\"'");
    CHECK(error_of("[defaults]\nhostname = 'box'\n") ==
          "c.toml:2: strings take double quotes: \"...\"");
    CHECK(error_of("[defaults]\nhostname = \"a\\nb\"\n") ==
          "c.toml:2: unknown escape in a string (only \\\" and \\\\ are allowed)");
    CHECK(error_of("[defaults]\nuser true\n") ==
          "c.toml:2: expected KEY = VALUE (no '=' after the first word)");
    CHECK(error_of("[defaults]\n= true\n") == "c.toml:2: expected KEY = VALUE");
    CHECK(error_of("[defaults]\n\"user\" = true\n") == "c.toml:2: expected KEY = VALUE");
    CHECK(error_of("[defaults]\nuser: true\n") ==
          "c.toml:2: expected KEY = VALUE (no '=' after the first word)");
    CHECK(error_of("[defaults]\nbind = [\"/a\" \"/b\"]\n") ==
          "c.toml:2: expected ',' or ']' after an item of 'bind'");
    CHECK(error_of("[defaults]\nbind = [,]\n") ==
          "c.toml:2: unexpected ',' in 'bind': an item is missing");
    CHECK(error_of("[defaults]\nbind = [\"/a\",,]\n") ==
          "c.toml:2: unexpected ',' in 'bind': an item is missing");
    CHECK(error_of("[defaults]\nbind = [[\"/a\"]]\n") ==
          "c.toml:2: lists cannot be nested (in 'bind')");
}

TEST_CASE("config: text after a value") {
    CHECK(error_of("[defaults]\nallow_network = false true\n") ==
          "c.toml:2: unexpected text after the value of 'allow_network'");
    CHECK(error_of("[defaults]\nhostname = \"a\" \"b\"\n") ==
          "c.toml:2: unexpected text after the value of 'hostname'");
    CHECK(error_of("[defaults]\nhostname = \"a\"b\n") ==
          "c.toml:2: unexpected text after the value of 'hostname'");
    CHECK(error_of("[defaults]\nnetwork = host ; comment\n") ==
          "c.toml:2: unexpected text after the value of 'network'");
    // After a multi-line list, the line of the closing bracket is the one at fault.
    CHECK(error_of("[defaults]\nbind = [\n  \"/a\"\n] x\n") ==
          "c.toml:4: unexpected text after the value of 'bind'");
}

TEST_CASE("config: a list left open names the key's line") {
    CHECK(error_of("[bind_profiles]\nminimal = [\"/a\"]\ndev = [\n  \"/x\",\n  \"/y\"\n") ==
          "c.toml:3: list 'dev' is not closed");
    CHECK(error_of("[defaults]\nbind = [\"/a\",\n") == "c.toml:2: list 'bind' is not closed");
    CHECK(error_of("[defaults]\nbind = [\n# only a comment\n\n") ==
          "c.toml:2: list 'bind' is not closed");
    // A forgotten ']' followed by more config: the next key or section gives it away.
    CHECK(error_of("[bind_profiles]\ndev = [\n  \"/x\",\nminimal = [\"/y\"]\n") ==
          "c.toml:2: list 'dev' is not closed");
    CHECK(error_of("[defaults]\nbind = [\n  \"/x\"\n[storage]\ncontainers_dir = \"/c\"\n") ==
          "c.toml:2: list 'bind' is not closed");
}

TEST_CASE("config: bad profile and bind entries") {
    CHECK(error_of("[bind_profiles]\ndev = [\"~/.config\", \"\"]\n") ==
          "c.toml:2: entry 2 of profile 'dev' is empty");
    CHECK(error_of("[bind_profiles]\n\ndev = [\n  \"~/.config\",\n  \"~/.ssh:\"\n]\n") ==
          "c.toml:3: bad entry 2 of profile 'dev': expected SRC[:DST][:ro|:overlay]");
    CHECK(error_of("[bind_profiles]\ndev = [\":/x\"]\n") ==
          "c.toml:2: bad entry 1 of profile 'dev': expected SRC[:DST][:ro|:overlay]");
    CHECK(error_of("[bind_profiles]\ndev = [\"/a:/b:/c\"]\n") ==
          "c.toml:2: bad entry 1 of profile 'dev': expected SRC[:DST][:ro|:overlay]");
    CHECK(error_of("[bind_profiles]\ndev = [\"/a:/b:rx\"]\n") ==
          "c.toml:2: bad entry 1 of profile 'dev': expected SRC[:DST][:ro|:overlay]");
    CHECK(error_of("[bind_profiles]\ndev = [\"/a:b\"]\n") ==
          "c.toml:2: bad entry 1 of profile 'dev': DST must be an absolute path");
    CHECK(error_of("[bind_profiles]\ndev = \"/a\"\n") ==
          "c.toml:2: 'dev' takes a list like [\"...\"], not a string");
    CHECK(error_of("[defaults]\nbind = [\"/a::ro\"]\n") ==
          "c.toml:2: bad entry 1 of bind: expected SRC[:DST][:ro|:overlay]");
    // All the accepted shapes.
    Config c = parse(
        "[bind_profiles]\n"
        "ok.name-1_x = [\"/a\", \"/a:ro\", \"/a:rw\", \"/a:/b\", \"~/a:~/b:ro\", \"rel:~\", "
        "\"/a:/b:rw\"]\n");
    CHECK(c.profiles["ok.name-1_x"].entries.size() == 7);
}

TEST_CASE("config: duplicate keys in one file") {
    CHECK(error_of("[defaults]\nuser = true\nhostname = x\nuser = false\n") ==
          "c.toml:4: duplicate key 'user' in [defaults] (first set on line 2)");
    // Reopening a section does not make a repeat legal.
    CHECK(error_of("[defaults]\nuser = true\n[storage]\n[defaults]\nuser = true\n") ==
          "c.toml:5: duplicate key 'user' in [defaults] (first set on line 2)");
    CHECK(error_of("[bind_profiles]\ndev = [\n\"/a\"\n]\ndev = []\n") ==
          "c.toml:5: duplicate key 'dev' in [bind_profiles] (first set on line 2)");
    // The same name in different sections is fine.
    Config c = parse("[defaults]\nbind_profiles = [\"x\"]\n[bind_profiles]\nbind_profiles = []\n");
    CHECK(c.bind_profiles.value == Strings{"x"});
    CHECK(c.profiles.count("bind_profiles") == 1);
}

TEST_CASE("config: errors never quote a value or the rest of a line") {
    // As root, `--config /etc/shadow` must not print a hash; any file named as a config
    // is only ever described by FILE:LINE, a short key name and what is wrong.
    const std::string secret = "hunter2XYZ";
    const char* const lines[] = {
        "secret-line-@",
        "root:$y$j9T$@:19000:0:99999:7:::",
        "password = \"@\"",
        "password = @",
        "[defaults] @",
        "user = @",
        "user = \"@\"",
        "network = \"@\"",
        "hostname = \"@\" \"@\"",
        "hostname = \"a\\@\"",
        "hostname = '@'",
        "hostname = \"@",
        "bind = \"@\"",
        "bind = [\"@:@\", \"@::@\"]",
        "bind = [\"/a:@\"]",
        "bind = [\"@\" \"@\"]",
        "env = [\"@\"]",
        "bind_profiles = [\"@ @\"]",
        "dev = [\"@:@:@\"]",
        "user = true @",
        "= @",
        "@: true",
        "\"@\" = 1",
    };
    for (const char* line : lines) {
        std::string l = line;
        for (size_t at; (at = l.find('@')) != std::string::npos;) l.replace(at, 1, secret);
        for (const char* section : {"", "[defaults]\n", "[bind_profiles]\n", "[storage]\n"}) {
            std::string text = std::string(section) + l + "\n";
            std::string e = error_of(text);
            CHECK_MESSAGE((e == "(no error)" || e.rfind("c.toml:", 0) == 0), text);
            CHECK_MESSAGE(e.find("XYZ") == std::string::npos, text, " -> ", e);
            CHECK_MESSAGE(e.find("hunter") == std::string::npos, text, " -> ", e);
            CHECK_MESSAGE(e.find("$y$") == std::string::npos, text, " -> ", e);
        }
    }
    // A key is named when it is short (what a syntax error needs); a long word in its place
    // is not.
    CHECK(error_of("[defaults]\npassword = \"hunter2\"\n") ==
          "c.toml:2: unknown key 'password' in [defaults]");
    CHECK(error_of("[defaults]\n" + std::string(33, 'k') + " = 1\n") ==
          "c.toml:2: unknown key a name of 33 characters in [defaults]");
}

TEST_CASE("config: the first error wins and a failed parse changes nothing") {
    CHECK(error_of("[defaults]\nuser = maybe\n[nope]\n") == "c.toml:2: user takes true or false");
    Config c = default_config();
    parse_config("[defaults]\nuser = true\n", "a.toml", c);
    CHECK_THROWS_AS(parse_config("[defaults]\nhostname = h\nuser = false\nbad = 1\n", "b.toml", c),
                    Error);
    CHECK(c.user.value);
    CHECK(c.user.origin.file == "a.toml");
    CHECK_FALSE(c.hostname.set);
}

TEST_CASE("config: a later file overrides key by key") {
    Config c = default_config();
    parse_config(
        "[storage]\ncontainers_dir = \"/sys/c\"\n"
        "[defaults]\nuser = true\nnetwork = host\nbind = [\"/a\", \"/b\"]\n"
        "[bind_profiles]\ndev = [\"/x\"]\nkeep = [\"/k\"]\n",
        "/etc/kakuri/config.toml", c);
    parse_config(
        "\n[defaults]\nnetwork = none\nbind = [\"/c\"]\n"
        "[bind_profiles]\ndev = [\"/y\", \"/z\"]\n",
        "/home/u/.config/container/config.toml", c);
    CHECK(c.containers_dir.value == "/sys/c");
    CHECK(c.containers_dir.origin.file == "/etc/kakuri/config.toml");
    CHECK(c.user.value);
    CHECK(c.user.origin.line == 4);
    CHECK(c.network.value == "none");
    CHECK(c.network.origin.file == "/home/u/.config/container/config.toml");
    CHECK(c.network.origin.line == 3);
    CHECK(c.bind.value == Strings{"/c"});  // replaced, not appended
    CHECK(c.profiles["dev"].entries == Strings{"/y", "/z"});
    CHECK(c.profiles["dev"].origin.file == "/home/u/.config/container/config.toml");
    CHECK(c.profiles["dev"].origin.line == 6);
    CHECK(c.profiles["keep"].entries == Strings{"/k"});
    CHECK(c.profiles["keep"].origin.file == "/etc/kakuri/config.toml");
    // A key repeated across files is an override, not a duplicate.
    parse_config("[defaults]\nnetwork = host\n", "third.toml", c);
    CHECK(c.network.value == "host");
}

TEST_CASE("config: empty and comment-only files change nothing") {
    Config c = parse("");
    CHECK_FALSE(c.user.set);
    c = parse("# nothing\n\n[defaults]\n[storage]\n");
    CHECK_FALSE(c.containers_dir.set);
    CHECK(c.containers_dir.value == "~/.local/kakuri/containers");
}

TEST_CASE("config: config_paths precedence") {
    ConfigPaths p = config_paths("", nullptr, nullptr, "/home/u");
    CHECK(p.system == "/etc/kakuri/config.toml");
    CHECK(p.user == "/home/u/.config/container/config.toml");
    CHECK_FALSE(p.user_required);

    p = config_paths("", nullptr, "/xdg", "/home/u");
    CHECK(p.user == "/xdg/container/config.toml");
    CHECK_FALSE(p.user_required);

    p = config_paths("", "/env.toml", "/xdg", "/home/u");
    CHECK(p.user == "/env.toml");
    CHECK(p.user_required);

    p = config_paths("./cli.toml", "/env.toml", "/xdg", "/home/u");
    CHECK(p.user == "./cli.toml");
    CHECK(p.user_required);
    CHECK(p.system == "/etc/kakuri/config.toml");

    // Empty variables count as unset; a relative XDG_CONFIG_HOME is ignored (XDG spec).
    p = config_paths("", "", "", "/home/u");
    CHECK(p.user == "/home/u/.config/container/config.toml");
    CHECK_FALSE(p.user_required);
    p = config_paths("", nullptr, "rel/xdg", "/home/u");
    CHECK(p.user == "/home/u/.config/container/config.toml");

    // No HOME and no XDG_CONFIG_HOME: no user file to look for.
    p = config_paths("", nullptr, nullptr, "");
    CHECK(p.user.empty());
    CHECK_FALSE(p.user_required);
}

TEST_CASE("config: load_config_file") {
    Scratch d("config");
    std::string good = d.file("good.toml", 0644, sample());
    Config c = default_config();
    CHECK(load_config_file(good, c, true));
    CHECK(c.containers_dir.origin.file == good);
    CHECK(c.profiles["dev"].entries.size() == 4);

    std::string missing = d.dir + "/missing.toml";
    Config m = default_config();
    CHECK_FALSE(load_config_file(missing, m, false));
    CHECK_FALSE(load_config_file(d.dir + "/missing/below.toml", m, false));
    CHECK_THROWS_WITH_AS(
        load_config_file(missing, m, true),
        ("cannot read config file " + missing + ": No such file or directory").c_str(), Error);

    CHECK_THROWS_WITH_AS(load_config_file(d.dir, m, false),
                         ("config file " + d.dir + " is a directory").c_str(), Error);

    std::string bad = d.file("bad.toml", 0644, "[defaults]\nuser = yes\n");
    CHECK_THROWS_WITH_AS(load_config_file(bad, m, false),
                         (bad + ":2: user takes true or false").c_str(), Error);

    // A pipe, as `--config <(...)` gives: read to the end, not refused for not being a file.
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    std::string piped = "[defaults]\nuser = true\n";
    REQUIRE(write(fds[1], piped.data(), piped.size()) == static_cast<ssize_t>(piped.size()));
    close(fds[1]);
    Config p = default_config();
    std::string fd_name = "/proc/self/fd/" + std::to_string(fds[0]);
    CHECK(load_config_file(fd_name, p, true));
    close(fds[0]);
    CHECK(p.user.value);
    CHECK(p.user.origin.file == fd_name);

    if (geteuid() != 0) {  // root reads it anyway
        std::string secret = d.file("secret.toml", 0644, "");
        REQUIRE(chmod(secret.c_str(), 0) == 0);
        CHECK_THROWS_WITH_AS(load_config_file(secret, m, false),
                             ("cannot read config file " + secret + ": Permission denied").c_str(),
                             Error);
    }
}

TEST_CASE("config: [storage] log_max_size") {
    CHECK(default_config().log_max_size.value == 4u << 20);
    Config c = parse("[storage]\nlog_max_size = \"512K\"\n");
    CHECK(c.log_max_size.value == 512u << 10);
    CHECK(c.log_max_size.origin.line == 2);
    CHECK(parse("[storage]\nlog_max_size = 2M\n").log_max_size.value == 2u << 20);
    CHECK(parse("[storage]\nlog_max_size = \"1024\"\n").log_max_size.value == 1024);
    CHECK(parse("[storage]\nlog_max_size = 1G\n").log_max_size.value == 1ull << 30);
    CHECK(parse("[storage]\nlog_max_size = 8m\n").log_max_size.value == 8u << 20);
    for (const char* bad : {"\"1023\"", "\"\"", "\"4 M\"", "\"4MB\"", "\"-1\"", "\"0x10\"",
                            "\"99999999999999999999\"", "\"4mb\""}) {
        std::string err = error_of(std::string("[storage]\nlog_max_size = ") + bad + "\n");
        CHECK_MESSAGE(err.rfind("c.toml:2: log_max_size takes a size of at least 1K", 0) == 0,
                      (std::string(bad) + ": " + err));
    }
    CHECK(error_of("[storage]\nlog_max_size = [\"4M\"]\n") ==
          "c.toml:2: log_max_size takes a string, not a list");
    uint64_t n = 0;
    CHECK((parse_size("3G", n) && n == 3ull << 30));
    CHECK(format_size(4u << 20) == "4M");
    CHECK(format_size(1536) == "1536");
    CHECK(format_size(3ull << 30) == "3G");
    CHECK(format_size(1u << 10) == "1K");
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE("config: memory, pids_limit, cpus; \"\" is no limit; bad values name the key") {
    Config c = parse("[defaults]\nmemory = \"1.5G\"\npids_limit = 50\ncpus = \"0.25\"\n");
    CHECK(c.memory.value == 3ULL << 29);
    CHECK(c.pids_limit.value == 50);
    CHECK(c.cpus.value == 250);
    CHECK(c.cpus.origin.line == 4);
    parse_config("[defaults]\nmemory = \"\"\npids_limit = \"\"\ncpus = \"\"\n", "u.toml", c);
    CHECK((c.memory.value == 0 && c.pids_limit.value == 0 && c.cpus.value == 0));
    for (const char* bad : {"memory = \"1x\"", "pids_limit = 0", "pids_limit = \"1.5\"",
                            "cpus = \"0\"", "cpus = \"half\"", "memory = [\"1G\"]"}) {
        CAPTURE(bad);
        Config d = default_config();
        const std::string key = std::string(bad).substr(0, std::string(bad).find(' '));
        CHECK_THROWS_WITH_AS(parse_config(std::string("[defaults]\n") + bad + "\n", "f.toml", d),
                             doctest::Contains(("f.toml:2: " + key + " takes").c_str()), Error);
    }
}

}  // namespace kakuri
