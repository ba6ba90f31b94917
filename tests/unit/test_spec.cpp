// Unit tests for spec: bind specs, make_spec (hand-built HostInfo), visible_inside.
#include <doctest/doctest.h>
#include <sched.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "envrules.hpp"
#include "paths.hpp"
#include "plan.hpp"
#include "spec.hpp"
#include "strings.hpp"
#include "sys.hpp"

namespace doctest {
template <>
struct StringMaker<kakuri::Bind> {
    static String convert(const kakuri::Bind& b) {
        return (b.src + " -> " + b.dst + (b.ro ? " (ro)" : " (rw)")).c_str();
    }
};
}  // namespace doctest

namespace kakuri {

namespace {

using Strings = std::vector<std::string>;
using Maps = std::vector<IdMapLine>;

const char* const kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// An unprivileged caller on a merged-/usr host.
HostInfo host() {
    HostInfo h;
    h.uid = 1000;
    h.gid = 1000;
    h.real_root = false;
    h.home = "/home/u";
    h.cwd = "/home/u";
    h.shell = "/bin/bash";
    h.environ = {"PATH=/usr/bin:/bin", "HOME=/home/u", "LANG=C.UTF-8", "TERM=xterm", "PWD=/old"};
    h.root_entries = {
        {"usr", false, ""},           {"etc", false, ""}, {"bin", true, "usr/bin"},
        {"lib64", true, "usr/lib64"}, {"var", false, ""}, {"opt", false, ""},
    };
    return h;
}

// host(), where these paths exist (as directories): bind sources must.
HostInfo host_with(std::initializer_list<const char*> dirs) {
    HostInfo h = host();
    std::vector<std::string> d(dirs.begin(), dirs.end());
    h.kind = [d](const std::string& p) {
        return std::find(d.begin(), d.end(), p) != d.end() ? PathKind::Directory
                                                           : PathKind::Missing;
    };
    return h;
}

// How many entries of env have this key, and the value of the last one.
size_t env_count(const Strings& env, const std::string& key) {
    return static_cast<size_t>(std::count_if(env.begin(), env.end(), [&](const std::string& e) {
        return e.compare(0, key.size() + 1, key + "=") == 0;
    }));
}

std::string env_get(const Strings& env, const std::string& key) {
    return env_value(env, key).value_or("<unset>");
}

Options bind_opts(std::initializer_list<const char*> binds) {
    Options o;
    for (const char* b : binds) {
        o.binds.emplace_back(b);
        o.binds_ro_forced.push_back(false);
    }
    return o;
}

}  // namespace

// ---- parse_bind_spec ------------------------------------------------------------------------

TEST_CASE("spec: parse_bind_spec forms") {
    const std::string home = "/home/u", cwd = "/work/dir";
    CHECK(parse_bind_spec("/data", false, home, cwd) == Bind{"/data", "/data", false});
    CHECK(parse_bind_spec("/data:/mnt", false, home, cwd) == Bind{"/data", "/mnt", false});
    CHECK(parse_bind_spec("/data:ro", false, home, cwd) == Bind{"/data", "/data", true});
    CHECK(parse_bind_spec("/data:rw", false, home, cwd) == Bind{"/data", "/data", false});
    CHECK(parse_bind_spec("/data:/mnt:ro", false, home, cwd) == Bind{"/data", "/mnt", true});
    CHECK(parse_bind_spec("/data:/mnt:rw", false, home, cwd) == Bind{"/data", "/mnt", false});
    // Both sides are normalized.
    CHECK(parse_bind_spec("/data//x/./y/..:/mnt/a/../b/", false, home, cwd) ==
          Bind{"/data/x", "/mnt/b", false});
}

TEST_CASE("spec: parse_bind_spec expands ~ with the given home") {
    const std::string home = "/home/u", cwd = "/work";
    CHECK(parse_bind_spec("~", false, home, cwd) == Bind{"/home/u", "/home/u", false});
    CHECK(parse_bind_spec("~/x", false, home, cwd) == Bind{"/home/u/x", "/home/u/x", false});
    CHECK(parse_bind_spec("~/x:~/y", false, home, cwd) == Bind{"/home/u/x", "/home/u/y", false});
    CHECK(parse_bind_spec("/a:~", false, home, cwd) == Bind{"/a", "/home/u", false});
    CHECK(parse_bind_spec("~/x:ro", false, home, cwd) == Bind{"/home/u/x", "/home/u/x", true});
    CHECK(parse_bind_spec("~/x", false, "/srv/other", cwd) ==
          Bind{"/srv/other/x", "/srv/other/x", false});
    // Only a leading "~" or "~/" is the home.
    CHECK(parse_bind_spec("/a/~/b", false, home, cwd) == Bind{"/a/~/b", "/a/~/b", false});
}

TEST_CASE("spec: parse_bind_spec takes a relative SRC from cwd") {
    const std::string home = "/home/u", cwd = "/work/dir";
    CHECK(parse_bind_spec("src", false, home, cwd) ==
          Bind{"/work/dir/src", "/work/dir/src", false});
    CHECK(parse_bind_spec("./src", false, home, cwd) ==
          Bind{"/work/dir/src", "/work/dir/src", false});
    CHECK(parse_bind_spec("../src", false, home, cwd) == Bind{"/work/src", "/work/src", false});
    CHECK(parse_bind_spec(".", false, home, cwd) == Bind{"/work/dir", "/work/dir", false});
    CHECK(parse_bind_spec("src:/mnt:ro", false, home, cwd) == Bind{"/work/dir/src", "/mnt", true});
    CHECK(parse_bind_spec("../../..:/mnt", false, home, cwd) == Bind{"/", "/mnt", false});
}

TEST_CASE("spec: parse_bind_spec errors") {
    const std::string home = "/home/u", cwd = "/work";
    SUBCASE("relative DST") {
        CHECK_THROWS_AS(parse_bind_spec("/a:rel", false, home, cwd), Error);
        CHECK_THROWS_AS(parse_bind_spec("/a:./x", false, home, cwd), Error);
        CHECK_THROWS_AS(parse_bind_spec("/a:x:ro", false, home, cwd), Error);
        CHECK_THROWS_WITH(parse_bind_spec("/a:rel", false, home, cwd),
                          doctest::Contains("absolute"));
    }
    SUBCASE("empty parts") {
        for (const char* t : {"", ":", ":/x", "/a:", "/a::ro", ":ro", "::", "/a:/b:"}) {
            CAPTURE(t);
            CHECK_THROWS_AS(parse_bind_spec(t, false, home, cwd), Error);
        }
    }
    SUBCASE("too many parts") {
        CHECK_THROWS_AS(parse_bind_spec("/a:/b:/c", false, home, cwd), Error);
        CHECK_THROWS_AS(parse_bind_spec("/a:/b:ro:ro", false, home, cwd), Error);
        CHECK_THROWS_AS(parse_bind_spec("/a:/b:xx", false, home, cwd), Error);
    }
    SUBCASE("DST is /") {
        CHECK_THROWS_AS(parse_bind_spec("/a:/", false, home, cwd), Error);
        CHECK_THROWS_AS(parse_bind_spec("/a:/x/..", false, home, cwd), Error);
        CHECK_THROWS_AS(parse_bind_spec("/a://", false, home, cwd), Error);
        CHECK_THROWS_AS(parse_bind_spec("/", false, home, cwd), Error);  // SRC only: DST = SRC
        CHECK_THROWS_AS(parse_bind_spec("/:ro", false, home, cwd), Error);
    }
    SUBCASE("the error names the spec and exits 125") {
        try {
            parse_bind_spec("/a:rel", false, home, cwd);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("/a:rel") != std::string::npos);
            CHECK(e.exit_code() == 125);
        }
    }
}

TEST_CASE("spec: parse_bind_spec with --ro-bind") {
    const std::string home = "/home/u", cwd = "/work";
    CHECK(parse_bind_spec("/a", true, home, cwd) == Bind{"/a", "/a", true});
    CHECK(parse_bind_spec("/a:/b", true, home, cwd) == Bind{"/a", "/b", true});
    CHECK(parse_bind_spec("/a:ro", true, home, cwd) == Bind{"/a", "/a", true});
    CHECK(parse_bind_spec("/a:/b:ro", true, home, cwd) == Bind{"/a", "/b", true});
    CHECK_THROWS_AS(parse_bind_spec("/a:rw", true, home, cwd), Error);
    CHECK_THROWS_AS(parse_bind_spec("/a:/b:rw", true, home, cwd), Error);
    CHECK_THROWS_WITH(parse_bind_spec("/a:/b:rw", true, home, cwd), doctest::Contains(":rw"));
}

// ---- make_spec: identity, network, hostname -------------------------------------------------

TEST_CASE("spec: an unprivileged caller gets a user namespace, root inside") {
    ContainerSpec s = make_spec(Options{}, host());
    CHECK(s.identity.userns);
    CHECK(s.identity.uid_map == Maps{{0, 1000, 1}});
    CHECK(s.identity.gid_map == Maps{{0, 1000, 1}});
}

TEST_CASE("spec: --user keeps the caller's ids inside") {
    HostInfo h = host();
    h.uid = 1234;
    h.gid = 567;
    Options o;
    o.user = true;
    ContainerSpec s = make_spec(o, h);
    CHECK(s.identity.userns);
    CHECK(s.identity.uid_map == Maps{{1234, 1234, 1}});
    CHECK(s.identity.gid_map == Maps{{567, 567, 1}});

    SUBCASE("without --user the gid maps to 0 too") {
        ContainerSpec t = make_spec(Options{}, h);
        CHECK(t.identity.uid_map == Maps{{0, 1234, 1}});
        CHECK(t.identity.gid_map == Maps{{0, 567, 1}});
    }
}

TEST_CASE("spec: real root gets no user namespace") {
    HostInfo h = host();
    h.uid = 0;
    h.gid = 0;
    h.real_root = true;
    ContainerSpec s = make_spec(Options{}, h);
    CHECK_FALSE(s.identity.userns);
    CHECK(s.identity.uid_map.empty());
    CHECK(s.identity.gid_map.empty());
}

TEST_CASE("spec: network") {
    CHECK_FALSE(make_spec(Options{}, host()).policy.share_net);
    Options o;
    o.network = NetworkMode::Host;
    o.network_set = true;
    CHECK(make_spec(o, host()).policy.share_net);
}

TEST_CASE("spec: a private network: publishing implies it, the config chooses it too") {
    Options o;
    o.publish = {"8080:80", "127.0.0.1:9000-9001:9000-9001/udp"};
    ContainerSpec s = make_spec(o, host());
    CHECK(s.policy.net.on);
    CHECK_FALSE(s.policy.share_net);
    CHECK_FALSE(s.policy.net.host_loopback);
    REQUIRE(s.policy.net.publish.size() == 2);
    CHECK(s.policy.net.publish[1].count == 2);
    CHECK((make_plan(s).clone_flags & CLONE_NEWNET) != 0);

    Config cfg = default_config();
    parse_config("[defaults]\nnetwork = \"private\"\nhost_loopback = true\ndns = \"192.0.2.53\"\n",
                 "c.toml", cfg);
    s = make_container(Options{}, cfg, host());
    CHECK(s.policy.net.on);
    CHECK(s.policy.net.host_loopback);
    CHECK(s.policy.net.dns == "192.0.2.53");
    // The command line wins: --network=private alone is without the host's loopback.
    Options p;
    p.network = NetworkMode::Private;
    p.network_set = true;
    CHECK_FALSE(make_container(p, cfg, host()).policy.net.host_loopback);
    p.host_loopback = true;
    p.dns = "198.51.100.53";
    s = make_container(p, default_config(), host());
    CHECK(s.policy.net.host_loopback);
    CHECK(s.policy.net.dns == "198.51.100.53");
    // host_loopback and dns of a config mean nothing to another network.
    Config other = default_config();
    parse_config("[defaults]\nhost_loopback = true\ndns = \"192.0.2.53\"\n", "c.toml", other);
    CHECK_FALSE(make_container(Options{}, other, host()).policy.net.on);
}

TEST_CASE("spec: a private network's errors") {
    Options o;
    o.publish = {"8080:80"};
    o.network = NetworkMode::Host;
    o.network_set = true;
    CHECK_THROWS_WITH(make_spec(o, host()),
                      "--publish needs a private network, not --network=host (it implies "
                      "--network=private)");
    o.network = NetworkMode::None;
    CHECK_THROWS_WITH(make_spec(o, host()), doctest::Contains("not --network=none"));
    Options d;
    d.dns = "192.0.2.53";
    CHECK_THROWS_WITH(make_spec(d, host()),
                      "--dns is for a private network (--network=private), not --network=none");
    // Two containers may not silently share a port: nor may one publication twice.
    Options twice;
    twice.publish = {"8000-8010:8000-8010", "8005:80"};
    CHECK_THROWS_WITH(make_spec(twice, host()),
                      "--publish 8005:80: host port taken twice (also in "
                      "127.0.0.1:8000-8010:8000-8010/tcp)");
    twice.publish = {"8005:80", "8005:80/udp"};
    CHECK_NOTHROW(make_spec(twice, host()));
}

TEST_CASE("spec: hostname") {
    CHECK(make_spec(Options{}, host()).policy.hostname == "kakuri");
    Options o;
    o.hostname = "box";
    CHECK(make_spec(o, host()).policy.hostname == "box");
    // RFC 1123 names up to the kernel's 64 bytes.
    const std::string l63(63, 'h');
    for (std::string good : {std::string("a"), std::string("web-1"), std::string("0box"),
                             std::string("Box.Example.org"), l63, "x." + std::string(62, 'y')}) {
        o.hostname = good;
        CHECK_MESSAGE(make_spec(o, host()).policy.hostname == good, good);
    }
    for (std::string bad :
         {std::string(64, 'h'), "a." + l63, "x." + std::string(63, 'y'), std::string("a/b"),
          std::string("-a"), std::string("a-"), std::string("a..b"), std::string(".a"),
          std::string("a."), std::string("my_box"), std::string("a b"), std::string("a\nb"),
          std::string("b\xc3\xa4r")}) {
        o.hostname = bad;
        CHECK_THROWS_AS_MESSAGE(make_spec(o, host()), Error, bad);
    }
    // One line, the value escaped, whatever it held.
    o.hostname = "a\nb";
    CHECK_THROWS_WITH_AS(make_spec(o, host()),
                         doctest::Contains("bad hostname 'a\\nb': use letters"), Error);
    // From a config file: where it was set.
    Config cfg = default_config();
    cfg.hostname.value = "-x";
    cfg.hostname.origin = Origin{"/c.toml", 3};
    cfg.hostname.set = true;
    CHECK_THROWS_WITH_AS(make_spec(Options{}, cfg, host()),
                         doctest::Contains("/c.toml:3: bad hostname: use letters"), Error);
}

// ---- make_spec: system directories, home, binds ---------------------------------------------

TEST_CASE("spec: system directories: /usr first, then its links, symlinks kept") {
    ContainerSpec s = make_spec(Options{}, host());
    Strings paths;
    for (const auto& d : s.layout.system) paths.push_back(d.path);
    CHECK(paths == Strings{"/usr", "/bin", "/lib64", "/etc", "/opt", "/var"});
    REQUIRE(s.layout.system.size() == 6);
    CHECK_FALSE(s.layout.system[0].is_symlink);
    CHECK(s.layout.system[1].is_symlink);
    CHECK(s.layout.system[1].link_target == "usr/bin");
    CHECK(s.layout.system[2].is_symlink);
    CHECK(s.layout.system[2].link_target == "usr/lib64");
    CHECK_FALSE(s.layout.system[3].is_symlink);
    CHECK_FALSE(s.layout.system[4].is_symlink);
    CHECK_FALSE(s.layout.system[5].is_symlink);
    CHECK(s.layout.system[3].link_target.empty());
}

TEST_CASE("spec: unprivileged, /usr is a read-only bind; as real root an overlay") {
    auto read_only = [](const ContainerSpec& s) {
        Strings out;
        for (const auto& d : s.layout.system)
            if (d.read_only) out.push_back(d.path);
        return out;
    };
    // In a user namespace only /usr: an overlay there could add entries at its top only, yet
    // would cost every container a fresh one (README, "What a container sees").
    CHECK(read_only(make_spec(Options{}, host())) == Strings{"/usr"});
    // Real root: writable all the way down, through an overlay.
    HostInfo root = host();
    root.uid = root.gid = 0;
    root.real_root = true;
    CHECK(read_only(make_spec(Options{}, root)).empty());
    // Real root with --userns: a user namespace again.
    Options userns;
    userns.userns = true;
    CHECK(read_only(make_spec(userns, root)) == Strings{"/usr"});
    // A /usr that is a symlink stays a symlink.
    HostInfo linked = host();
    linked.root_entries = {{"usr", true, "/opt/usr"}, {"etc", false, ""}};
    ContainerSpec l = make_spec(Options{}, linked);
    CHECK(read_only(l).empty());
    REQUIRE_FALSE(l.layout.system.empty());
    CHECK(l.layout.system[0].is_symlink);
}

TEST_CASE("spec: system directories: the lib family sorts by name between sbin and etc") {
    HostInfo h = host();
    h.root_entries = {{"var", false, ""}, {"lib64", false, ""}, {"etc", false, ""},
                      {"lib", false, ""}, {"sbin", false, ""},  {"lib32", false, ""},
                      {"usr", false, ""}, {"bin", false, ""}};
    ContainerSpec s = make_spec(Options{}, h);
    Strings paths;
    for (const auto& d : s.layout.system) paths.push_back(d.path);
    CHECK(paths == Strings{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/var"});
}

TEST_CASE("spec: home") {
    HostInfo h = host();
    CHECK(make_spec(Options{}, h).layout.home == "/home/u");
    h.home = "/home//u/";
    CHECK(make_spec(Options{}, h).layout.home == "/home/u");
    h.home = "/";
    CHECK(make_spec(Options{}, h).layout.home.empty());
    h.home = "relative";
    CHECK(make_spec(Options{}, h).layout.home.empty());
    h.home = "";
    CHECK(make_spec(Options{}, h).layout.home.empty());
}

TEST_CASE("spec: binds are parsed in order with home and cwd") {
    HostInfo h = host_with({"/home/u/a", "/srv/proj/sub", "/x", "/y"});
    h.cwd = "/srv/proj";
    Options o;
    o.binds = {"~/a", "sub:/mnt", "/x:ro", "/y:/z"};
    o.binds_ro_forced = {false, false, false, true};
    ContainerSpec s = make_spec(o, h);
    REQUIRE(s.layout.binds.size() == 4);
    CHECK(s.layout.binds[0] == Bind{"/home/u/a", "/home/u/a", false});
    CHECK(s.layout.binds[1] == Bind{"/srv/proj/sub", "/mnt", false});
    CHECK(s.layout.binds[2] == Bind{"/x", "/x", true});
    CHECK(s.layout.binds[3] == Bind{"/y", "/z", true});

    o.binds.push_back("/q:rel");
    o.binds_ro_forced.push_back(false);
    CHECK_THROWS_AS(make_spec(o, h), Error);
}

// ---- make_spec: environment -----------------------------------------------------------------

TEST_CASE("spec: the caller's environment is kept") {
    HostInfo h = host();
    h.cwd = "/usr/share";
    ContainerSpec s = make_spec(Options{}, h);
    CHECK(env_get(s.process.env, "LANG") == "C.UTF-8");
    CHECK(env_get(s.process.env, "TERM") == "xterm");
    CHECK(env_get(s.process.env, "PATH") == "/usr/bin:/bin");  // the caller's, not the default
    CHECK(env_get(s.process.env, "HOME") == "/home/u");
    CHECK(env_count(s.process.env, "PATH") == 1);
    CHECK(env_count(s.process.env, "HOME") == 1);
    // PWD is the container's working directory, once.
    CHECK(env_get(s.process.env, "PWD") == "/usr/share");
    CHECK(env_count(s.process.env, "PWD") == 1);
    // And the markers: container=kakuri, USER and LOGNAME of root inside.
    CHECK(s.process.env.size() == h.environ.size() + 3);
}

TEST_CASE("spec: the container's markers and the identity's user names") {
    HostInfo h = host();
    h.environ = {"PATH=/usr/bin", "USER=alice", "LOGNAME=alice", "container=oci"};
    Options o;
    ContainerSpec s = make_spec(o, h);
    CHECK(env_get(s.process.env, "container") == "kakuri");
    CHECK(env_get(s.process.env, "USER") == "root");
    CHECK(env_get(s.process.env, "LOGNAME") == "root");
    CHECK(env_count(s.process.env, "USER") == 1);
    SUBCASE("--user: the caller's names") {
        o.user = true;
        ContainerSpec t = make_spec(o, h);
        CHECK(env_get(t.process.env, "USER") == "alice");
        CHECK(env_get(t.process.env, "LOGNAME") == "alice");
        CHECK(env_get(t.process.env, "container") == "kakuri");
    }
    SUBCASE("--unsetenv and -e still decide") {
        o.env_unset = {"container"};
        o.env_set = {"USER=bob"};
        ContainerSpec t = make_spec(o, h);
        CHECK(env_count(t.process.env, "container") == 0);
        CHECK(env_get(t.process.env, "USER") == "bob");
        CHECK(env_get(t.process.env, "LOGNAME") == "root");
    }
}

TEST_CASE("spec: PATH and HOME are added when the caller has none") {
    HostInfo h = host();
    h.environ = {"LANG=C"};
    ContainerSpec s = make_spec(Options{}, h);
    CHECK(env_get(s.process.env, "PATH") == kDefaultPath);
    CHECK(env_get(s.process.env, "HOME") == "/home/u");
    CHECK(env_get(s.process.env, "LANG") == "C");
}

TEST_CASE("spec: --clearenv") {
    HostInfo h = host();
    Options o;
    o.clearenv = true;
    ContainerSpec s = make_spec(o, h);
    CHECK(s.process.env.size() == 6);  // and container, USER, LOGNAME: not the caller's
    CHECK(env_get(s.process.env, "PATH") == kDefaultPath);
    CHECK(env_get(s.process.env, "HOME") == "/home/u");
    CHECK(env_get(s.process.env, "PWD") == "/home/u");
    CHECK(env_count(s.process.env, "LANG") == 0);
    CHECK(env_count(s.process.env, "TERM") == 0);

    SUBCASE("no home: no HOME") {
        h.home = "";
        ContainerSpec t = make_spec(o, h);
        CHECK(env_count(t.process.env, "HOME") == 0);
        CHECK(env_get(t.process.env, "PATH") == kDefaultPath);
        CHECK(env_get(t.process.env, "PWD") == "/");
        CHECK(t.process.cwd == "/");
    }
    SUBCASE("-e still applies, and -e K copies from the caller") {
        o.env_set = {"A=1", "LANG"};
        ContainerSpec t = make_spec(o, h);
        CHECK(env_get(t.process.env, "A") == "1");
        CHECK(env_get(t.process.env, "LANG") == "C.UTF-8");
        CHECK(env_count(t.process.env, "TERM") == 0);
    }
    SUBCASE("-e PATH=... is not overridden by the default") {
        o.env_set = {"PATH=/opt/bin"};
        ContainerSpec t = make_spec(o, h);
        CHECK(env_get(t.process.env, "PATH") == "/opt/bin");
        CHECK(env_count(t.process.env, "PATH") == 1);
    }
}

TEST_CASE("spec: --unsetenv") {
    Options o;
    o.env_unset = {"LANG", "NOT_THERE"};
    ContainerSpec s = make_spec(o, host());
    CHECK(env_count(s.process.env, "LANG") == 0);
    CHECK(env_get(s.process.env, "TERM") == "xterm");

    SUBCASE("removes every copy of the key") {
        HostInfo h = host();
        h.environ.push_back("LANG=fr_FR.UTF-8");
        CHECK(env_count(make_spec(o, h).process.env, "LANG") == 0);
    }
    SUBCASE("does not remove keys that only share a prefix") {
        HostInfo h = host();
        h.environ.push_back("LANGUAGE=en");
        ContainerSpec t = make_spec(o, h);
        CHECK(env_get(t.process.env, "LANGUAGE") == "en");
    }
    SUBCASE("-e wins over --unsetenv") {
        o.env_set = {"LANG=de"};
        CHECK(env_get(make_spec(o, host()).process.env, "LANG") == "de");
    }
    SUBCASE("a bad name is an error") {
        o.env_unset = {"A=B"};
        CHECK_THROWS_AS(make_spec(o, host()), Error);
        o.env_unset = {""};
        CHECK_THROWS_AS(make_spec(o, host()), Error);
    }
}

TEST_CASE("spec: -e") {
    HostInfo h = host();
    Options o;
    SUBCASE("K=V sets a new variable") {
        o.env_set = {"FOO=bar"};
        CHECK(env_get(make_spec(o, h).process.env, "FOO") == "bar");
    }
    SUBCASE("K=V replaces the caller's value, once") {
        o.env_set = {"LANG=fr"};
        ContainerSpec s = make_spec(o, h);
        CHECK(env_get(s.process.env, "LANG") == "fr");
        CHECK(env_count(s.process.env, "LANG") == 1);
    }
    SUBCASE("the last -e for a key wins") {
        o.env_set = {"A=1", "A=2"};
        ContainerSpec s = make_spec(o, h);
        CHECK(env_get(s.process.env, "A") == "2");
        CHECK(env_count(s.process.env, "A") == 1);
    }
    SUBCASE("values may be empty or contain '='") {
        o.env_set = {"E=", "Q=a=b"};
        ContainerSpec s = make_spec(o, h);
        CHECK(env_get(s.process.env, "E") == "");
        CHECK(env_count(s.process.env, "E") == 1);
        CHECK(env_get(s.process.env, "Q") == "a=b");
    }
    SUBCASE("K alone copies the caller's value") {
        h.environ = {"SECRET=s3", "LANG=C"};
        o.env_unset = {"SECRET"};
        o.env_set = {"SECRET"};
        ContainerSpec s = make_spec(o, h);
        CHECK(env_get(s.process.env, "SECRET") == "s3");
    }
    SUBCASE("K alone, unset in the caller: stays unset") {
        o.env_set = {"NOPE"};
        ContainerSpec s = make_spec(o, h);
        CHECK(env_count(s.process.env, "NOPE") == 0);
        CHECK(std::find(s.process.env.begin(), s.process.env.end(), "NOPE") == s.process.env.end());
    }
    SUBCASE("K alone after K=V: back to the caller's value") {
        o.env_set = {"LANG=fr", "LANG"};
        CHECK(env_get(make_spec(o, h).process.env, "LANG") == "C.UTF-8");
    }
    SUBCASE("a bad key is an error") {
        o.env_set = {"=x"};
        CHECK_THROWS_AS(make_spec(o, h), Error);
        o.env_set = {""};
        CHECK_THROWS_AS(make_spec(o, h), Error);
        try {
            o.env_set = {"=x"};
            make_spec(o, h);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.exit_code() == 125);
            CHECK(std::string(e.what()).find("--env") != std::string::npos);
        }
    }
}

// ---- make_spec: credentials stay outside --------------------------------------------------

namespace {

HostInfo host_with_credentials() {
    HostInfo h = host();
    h.environ.insert(
        h.environ.end(),
        {"GITHUB_TOKEN=fake-gh-123", "MY_API_KEY=fake-456", "aws_secret_access_key=fake-aws",
         "SSH_AUTH_SOCK=/run/user/1000/agent", "TOKENIZERS_PARALLELISM=false", "MY_TOKEN_FILE=/x"});
    return h;
}

// Every note of the spec, one per line: what -v prints.
std::string notes_of(const ContainerSpec& s) {
    std::string out;
    for (const auto& n : s.notes) out += n + "\n";
    return out;
}

Config env_config(Strings drop, Strings keep) {
    Config c = default_config();
    c.env_drop.value = std::move(drop);
    c.env_keep.value = std::move(keep);
    return c;
}

}  // namespace

TEST_CASE("spec: the caller's credentials stay outside by default") {
    HostInfo h = host_with_credentials();
    ContainerSpec s = make_spec(Options{}, h);
    for (const char* k : {"GITHUB_TOKEN", "MY_API_KEY", "aws_secret_access_key", "SSH_AUTH_SOCK"}) {
        CAPTURE(k);
        CHECK(env_count(s.process.env, k) == 0);
    }
    CHECK(env_get(s.process.env, "TOKENIZERS_PARALLELISM") == "false");
    CHECK(env_get(s.process.env, "MY_TOKEN_FILE") == "/x");
    CHECK(env_get(s.process.env, "LANG") == "C.UTF-8");
    CHECK(env_get(s.process.env, "PATH") == "/usr/bin:/bin");
    // -v names them, in the caller's order, and no value.
    std::string notes = notes_of(s);
    CHECK(notes ==
          "environment: kept outside: GITHUB_TOKEN, MY_API_KEY, "
          "aws_secret_access_key, SSH_AUTH_SOCK (credentials; pass one with -e NAME)\n");
    CHECK(notes.find("fake") == std::string::npos);

    SUBCASE("no credential: no note") {
        CHECK(make_spec(Options{}, host()).notes.empty());
    }
    SUBCASE("a name twice in the caller's environment is named once") {
        h.environ.push_back("GITHUB_TOKEN=again");
        CHECK(notes_of(make_spec(Options{}, h)) == notes);
    }
}

TEST_CASE("spec: -e passes a credential on purpose") {
    HostInfo h = host_with_credentials();
    Options o;
    SUBCASE("-e NAME copies the caller's value") {
        o.env_set = {"GITHUB_TOKEN"};
        ContainerSpec s = make_spec(o, h);
        CHECK(env_get(s.process.env, "GITHUB_TOKEN") == "fake-gh-123");
        CHECK(env_count(s.process.env, "MY_API_KEY") == 0);
        CHECK(notes_of(s).find("GITHUB_TOKEN") == std::string::npos);
        CHECK(notes_of(s).find("MY_API_KEY") != std::string::npos);
    }
    SUBCASE("-e NAME takes the name as the caller spells it") {
        o.env_set = {"aws_secret_access_key"};
        CHECK(env_get(make_spec(o, h).process.env, "aws_secret_access_key") == "fake-aws");
        o.env_set = {"AWS_SECRET_ACCESS_KEY"};  // the caller has no such name
        CHECK(env_count(make_spec(o, h).process.env, "AWS_SECRET_ACCESS_KEY") == 0);
    }
    SUBCASE("-e NAME=VALUE sets one") {
        o.env_set = {"GITHUB_TOKEN=other"};
        CHECK(env_get(make_spec(o, h).process.env, "GITHUB_TOKEN") == "other");
    }
    SUBCASE("the config's env sets one") {
        Config c = default_config();
        c.env.value = {"NPM_TOKEN=from-config"};
        CHECK(env_get(make_spec(o, c, h).process.env, "NPM_TOKEN") == "from-config");
    }
    SUBCASE("--clearenv: nothing of the caller's, so nothing to name; -e still passes") {
        o.clearenv = true;
        o.env_set = {"MY_API_KEY"};
        ContainerSpec s = make_spec(o, h);
        CHECK(env_get(s.process.env, "MY_API_KEY") == "fake-456");
        CHECK(env_count(s.process.env, "GITHUB_TOKEN") == 0);
        CHECK(s.notes.empty());
    }
}

TEST_CASE("spec: env_keep and env_drop from the config") {
    HostInfo h = host_with_credentials();
    h.environ.push_back("CORP_SSO=fake-sso");
    SUBCASE("env_keep lets a name or a pattern through") {
        ContainerSpec s = make_spec(Options{}, env_config({}, {"GITHUB_TOKEN", "*_API_KEY"}), h);
        CHECK(env_get(s.process.env, "GITHUB_TOKEN") == "fake-gh-123");
        CHECK(env_get(s.process.env, "MY_API_KEY") == "fake-456");
        CHECK(env_count(s.process.env, "aws_secret_access_key") == 0);
    }
    SUBCASE("env_drop keeps more outside") {
        ContainerSpec s = make_spec(Options{}, env_config({"CORP_*", "LANG"}, {}), h);
        CHECK(env_count(s.process.env, "CORP_SSO") == 0);
        CHECK(env_count(s.process.env, "LANG") == 0);
        CHECK(env_count(s.process.env, "GITHUB_TOKEN") == 0);
        CHECK(env_get(s.process.env, "TERM") == "xterm");
        CHECK(notes_of(s).find("LANG, ") != std::string::npos);
    }
    SUBCASE("a dropped name beats a kept pattern") {
        ContainerSpec s = make_spec(Options{}, env_config({"GITHUB_TOKEN"}, {"*_TOKEN"}), h);
        CHECK(env_count(s.process.env, "GITHUB_TOKEN") == 0);
    }
    SUBCASE("an allow list still gets PATH, HOME and PWD") {
        ContainerSpec s = make_spec(Options{}, env_config({"*"}, {"LANG"}), h);
        CHECK(env_get(s.process.env, "LANG") == "C.UTF-8");
        CHECK(env_count(s.process.env, "TERM") == 0);
        CHECK(env_get(s.process.env, "PATH") == kDefaultPath);
        CHECK(env_get(s.process.env, "HOME") == "/home/u");
        CHECK(env_get(s.process.env, "PWD") == "/home/u");
    }
}

TEST_CASE("spec: kakuri config shows the rule and never a credential's value") {
    Config c = default_config();
    c.env.value = {"EDITOR=vi", "NPM_TOKEN=fake-npm", "CORP_SSO=fake-sso"};
    c.env_drop.value = {"CORP_*"};
    c.env_drop.origin = {"/c.toml", 4};
    c.env_drop.set = true;
    c.env_keep.value = {"GITHUB_TOKEN"};
    c.env_keep.origin = {"/c.toml", 5};
    c.env_keep.set = true;
    std::string out = format_config(c);
    CHECK(out.find("fake") == std::string::npos);
    CHECK(out.find("env = [\"EDITOR=vi\", \"NPM_TOKEN=<hidden>\", \"CORP_SSO=<hidden>\"]") !=
          std::string::npos);
    CHECK(out.find("env_drop = [\"CORP_*\"]                     # /c.toml:4\n") !=
          std::string::npos);
    CHECK(out.find("env_keep = [\"GITHUB_TOKEN\"]               # /c.toml:5\n") !=
          std::string::npos);
    // Every entry of the built-in rule is listed, on comment lines that fit a terminal.
    std::string listed;
    for (size_t at = 0, nl; at < out.size(); at = nl + 1) {
        nl = out.find('\n', at);
        std::string line = out.substr(at, nl - at);
        if (line[0] != '#') continue;
        CHECK(line.size() <= 72);
        listed += line.substr(1) + " ";
    }
    for (const auto& p : credential_rule()) {
        CAPTURE(p);
        CHECK(listed.find(" " + p + " ") != std::string::npos);
    }
}

TEST_CASE("spec: kakuri config labels a network a file decided with that file") {
    // allow_network = false in a file was shown as `# default`.
    for (const char* v : {"false", "true"}) {
        CAPTURE(v);
        Config c = default_config();
        parse_config(std::string("[defaults]\n\nallow_network = ") + v + "\n", "/c.toml", c);
        const std::string out = format_config(effective_config(Options{}, c));
        const std::string want = std::string("network = \"") + (v[0] == 't' ? "host" : "none") +
                                 "\"                          # /c.toml:3\n";
        CHECK(out.find(want) != std::string::npos);
    }
}

TEST_CASE("spec: kakuri config prints a configuration that reads back as it was") {
    // A value holding '"' or a backslash was printed as it is, which no TOML reader takes.
    Config c = default_config();
    parse_config(
        "[storage]\ncontainers_dir = \"/srv/a\\\"b\\\\c\"\n"
        "[defaults]\nhostname = \"x\\\\\"\nenv = [\"Q=\\\"\", \"B=\\\\\"]\n"
        "bind = [\"/a\\\"b:/c\"]\n[bind_profiles]\np = [\"/x\\\\y\", \"~/\\\"\"]\n",
        "/c.toml", c);
    REQUIRE(c.containers_dir.value == "/srv/a\"b\\c");
    REQUIRE(c.env.value == Strings{"Q=\"", "B=\\"});
    const std::string out = format_config(c);
    CHECK(out.find("containers_dir = \"/srv/a\\\"b\\\\c\"") != std::string::npos);
    Config back = default_config();
    REQUIRE_NOTHROW(parse_config(out, "printed", back));
    CHECK(back.containers_dir.value == c.containers_dir.value);
    CHECK(back.hostname.value == c.hostname.value);
    CHECK(back.env.value == c.env.value);
    CHECK(back.bind.value == c.bind.value);
    REQUIRE(back.profiles.count("p") == 1);
    CHECK(back.profiles["p"].entries == c.profiles["p"].entries);
    CHECK(format_config(back).substr(0, 40) == out.substr(0, 40));
}

TEST_CASE("spec: kakuri config says when this kakuri has no filter to load") {
    Config c = default_config();
    const std::string note = std::string("\n# ") + kNoFilterNote + ": none is loaded\n";
    CHECK(format_config(c, false).find("seccomp = \"default\"") != std::string::npos);
    CHECK(format_config(c, false).find(note) != std::string::npos);
    CHECK(format_config(c, true).find(kNoFilterNote) == std::string::npos);
    CHECK((format_config(c).find(note) != std::string::npos) == !seccomp_available());
    // Nothing is missing where none is asked for.
    c.seccomp.value = "off";
    CHECK(format_config(c, false).find(kNoFilterNote) == std::string::npos);
    // A comment line that fits a terminal: what kakuri config prints is still a configuration.
    CHECK(note.size() - 2 <= 72);
    Config back = default_config();
    CHECK_NOTHROW(parse_config(format_config(default_config(), false), "printed", back));
}

// ---- make_spec: working directory -----------------------------------------------------------

TEST_CASE("spec: the caller's cwd is kept where it is visible inside") {
    HostInfo h = host_with({"/srv/data", "/home/u/proj"});
    SUBCASE("under an overlaid system directory") {
        h.cwd = "/usr/share";
        ContainerSpec s = make_spec(Options{}, h);
        CHECK(s.process.cwd == "/usr/share");
        CHECK(env_get(s.process.env, "PWD") == "/usr/share");
    }
    SUBCASE("a system directory itself") {
        h.cwd = "/etc";
        CHECK(make_spec(Options{}, h).process.cwd == "/etc");
    }
    SUBCASE("under a bind with src == dst") {
        h.cwd = "/srv/data/sub";
        ContainerSpec s = make_spec(bind_opts({"/srv/data"}), h);
        CHECK(s.process.cwd == "/srv/data/sub");
        CHECK(env_get(s.process.env, "PWD") == "/srv/data/sub");
    }
    SUBCASE("in a bound part of the home") {
        h.cwd = "/home/u/proj/src";
        CHECK(make_spec(bind_opts({"~/proj"}), h).process.cwd == "/home/u/proj/src");
    }
}

TEST_CASE("spec: the caller's cwd falls back to HOME where it is not visible") {
    HostInfo h = host_with({"/srv/data", "/home/u/proj"});
    SUBCASE("under a bind whose source is elsewhere") {
        h.cwd = "/mnt/x";
        ContainerSpec s = make_spec(bind_opts({"/srv/data:/mnt"}), h);
        CHECK(s.process.cwd == "/home/u");
        CHECK(env_get(s.process.env, "PWD") == "/home/u");
    }
    SUBCASE("the source of a bind mounted elsewhere, with the working-directory rule off") {
        h.cwd = "/srv/data";
        Options o = bind_opts({"/srv/data:/mnt"});
        o.auto_mount = "off";
        CHECK(make_spec(o, h).process.cwd == "/home/u");
    }
    SUBCASE("in the hidden part of the home, with the working-directory rule off") {
        h.cwd = "/home/u/proj";
        Options o;
        o.auto_mount = "off";
        CHECK(make_spec(o, h).process.cwd == "/home/u");
        h.cwd = "/home/u/other";
        o = bind_opts({"~/proj"});
        o.auto_mount = "off";
        CHECK(make_spec(o, h).process.cwd == "/home/u");
    }
    SUBCASE("a missing working directory is not mounted") {
        h.cwd = "/home/u/gone";
        ContainerSpec s = make_spec(Options{}, h);
        CHECK(s.layout.binds.empty());
        CHECK(s.process.cwd == "/home/u");
    }
    SUBCASE("the home itself is fresh, the caller's cwd there is just HOME") {
        h.cwd = "/home/u";
        CHECK(make_spec(Options{}, h).process.cwd == "/home/u");
    }
    SUBCASE("under a symlinked system directory") {
        h.cwd = "/bin";
        CHECK(make_spec(Options{}, h).process.cwd == "/home/u");
    }
    SUBCASE("somewhere not set up at all") {
        h.cwd = "/srv";
        CHECK(make_spec(Options{}, h).process.cwd == "/home/u");
        h.cwd = "/usrx";
        CHECK(make_spec(Options{}, h).process.cwd == "/home/u");
    }
    SUBCASE("no cwd") {
        h.cwd = "";
        CHECK(make_spec(Options{}, h).process.cwd == "/home/u");
    }
    SUBCASE("no home: /") {
        h.cwd = "/srv";
        h.home = "";
        ContainerSpec s = make_spec(Options{}, h);
        CHECK(s.process.cwd == "/");
        CHECK(env_get(s.process.env, "PWD") == "/");
    }
}

TEST_CASE("spec: -w") {
    HostInfo h = host();
    h.cwd = "/usr/share";
    Options o;
    SUBCASE("absolute, normalized, used even where the caller's cwd would do") {
        o.workdir = "/srv//a/./b/../c";
        ContainerSpec s = make_spec(o, h);
        CHECK(s.process.cwd == "/srv/a/c");
        CHECK(env_get(s.process.env, "PWD") == "/srv/a/c");
    }
    SUBCASE("~/x expands") {
        o.workdir = "~/x";
        CHECK(make_spec(o, h).process.cwd == "/home/u/x");
    }
    SUBCASE("~ alone") {
        o.workdir = "~";
        CHECK(make_spec(o, h).process.cwd == "/home/u");
    }
    SUBCASE("relative is an error") {
        o.workdir = "rel/dir";
        CHECK_THROWS_AS(make_spec(o, h), Error);
        o.workdir = "./x";
        CHECK_THROWS_AS(make_spec(o, h), Error);
    }
}

// ---- make_spec: command ---------------------------------------------------------------------

TEST_CASE("spec: the command, or the caller's shell") {
    HostInfo h = host();
    CHECK(make_spec(Options{}, h).process.argv == Strings{"/bin/bash"});
    h.shell = "/usr/bin/zsh";
    CHECK(make_spec(Options{}, h).process.argv == Strings{"/usr/bin/zsh"});
    h.shell = "";
    CHECK(make_spec(Options{}, h).process.argv == Strings{"/bin/sh"});
    Options o;
    o.command = {"ls", "-la", "/"};
    CHECK(make_spec(o, h).process.argv == Strings{"ls", "-la", "/"});
}

// ---- make_spec: root filesystems ------------------------------------------------------------

namespace {

const char* const kTree = "/home/u/alpine";

// host() with an Alpine-like tree at ~/alpine (its /bin/sh an absolute link, which only
// kind_in_root resolves right) and a project in ~/proj.
HostInfo tree_host() {
    HostInfo h = host();
    h.kind = [](const std::string& p) {
        if (p == kTree || p == "/home/u/proj" || p == "/home/u" || p == "/etc" || p == "/tmp")
            return PathKind::Directory;
        if (p == "/home/u/file" || p == "/home/u/proj/main.py" || p == "/etc/hosts")
            return PathKind::File;
        return PathKind::Missing;
    };
    h.kind_in_root = [](const std::string& root, const std::string& p) {
        if (root != kTree) return PathKind::Missing;
        if (p == "/" || p == "/etc" || p == "/bin" || p == "/usr") return PathKind::Directory;
        if (p == "/bin/sh" || p == "/etc/os-release" || p == "/etc/hosts") return PathKind::File;
        return PathKind::Missing;
    };
    h.executable = [](const std::string& p) { return p == "/home/u/.local/bin/tool"; };
    h.environ = {"PATH=/home/u/.local/bin:/usr/bin:/bin", "HOME=/home/u"};
    return h;
}

Options tree_opts(const std::string& dir = kTree) {
    Options o;
    o.rootfs = dir;
    return o;
}

}  // namespace

TEST_CASE("spec: --rootfs replaces the host's system directories") {
    ContainerSpec s = make_spec(tree_opts(), tree_host());
    CHECK(s.layout.rootfs == kTree);
    CHECK(s.layout.system.empty());
    CHECK(s.layout.home == "/home/u");
    CHECK_FALSE(visible_inside("/usr/lib", s.layout));
    CHECK_FALSE(visible_inside("/etc", s.layout));
    CHECK(make_spec(Options{}, tree_host()).layout.rootfs.empty());
}

TEST_CASE("spec: --rootfs DIR is made absolute and normalized") {
    HostInfo h = tree_host();
    h.cwd = "/home/u/proj";
    CHECK(make_spec(tree_opts("../alpine/"), h).layout.rootfs == kTree);
    CHECK(make_spec(tree_opts("~/alpine"), h).layout.rootfs == kTree);
    CHECK(make_spec(tree_opts("/home/u//alpine/."), h).layout.rootfs == kTree);
}

TEST_CASE("spec: --rootfs errors name the directory") {
    HostInfo h = tree_host();
    CHECK_THROWS_WITH(make_spec(tree_opts("/nope"), h), "--rootfs /nope: no such directory");
    CHECK_THROWS_WITH(make_spec(tree_opts("nope"), h),
                      "--rootfs nope (/home/u/nope): no such directory");
    CHECK_THROWS_WITH(make_spec(tree_opts("/home/u/file"), h),
                      "--rootfs /home/u/file: not a directory");
}

TEST_CASE("spec: --rootfs without a command runs a shell the tree has") {
    HostInfo h = tree_host();
    SUBCASE("the caller's shell is not in the tree: its /bin/sh") {
        h.shell = "/bin/bash";
        CHECK(make_spec(tree_opts(), h).process.argv == Strings{"/bin/sh"});
    }
    SUBCASE("the caller's shell is in the tree") {
        h.kind_in_root = [](const std::string&, const std::string& p) {
            return p == "/bin/bash" || p == "/bin/sh" ? PathKind::File : PathKind::Directory;
        };
        CHECK(make_spec(tree_opts(), h).process.argv == Strings{"/bin/bash"});
    }
    SUBCASE("no /bin/sh in the tree: an error, unless a command is given") {
        h.kind_in_root = [](const std::string&, const std::string&) { return PathKind::Missing; };
        CHECK_THROWS_WITH(make_spec(tree_opts(), h),
                          doctest::Contains("--rootfs /home/u/alpine: it has no /bin/sh"));
        Options o = tree_opts();
        o.command = {"/probe"};
        CHECK(make_spec(o, h).process.argv == Strings{"/probe"});
    }
}

TEST_CASE("spec: --rootfs: commands come from the tree, never bound from the host") {
    Options o = tree_opts();
    o.command = {"tool", "x"};
    ContainerSpec s = make_spec(o, tree_host());
    CHECK(s.process.argv == Strings{"tool", "x"});
    CHECK(s.layout.binds.empty());
    // Host mode binds it (the check that the rule above is what differs).
    o.rootfs.clear();
    ContainerSpec t = make_spec(o, tree_host());
    CHECK(t.process.argv[0] == "/home/u/.local/bin/tool");
    CHECK(t.layout.binds.size() == 1);
}

TEST_CASE("spec: --rootfs: automatic mounts never bring in the host's system files") {
    Options o = tree_opts();
    SUBCASE("a path the tree has is the tree's") {
        o.command = {"cat", "/etc/hosts"};
        CHECK(make_spec(o, tree_host()).layout.binds.empty());
    }
    SUBCASE("a system directory's name, though the tree lacks the path") {
        o.command = {"ls", "/usr/lib/x", "/lib64/y", "/var/z"};
        CHECK(make_spec(o, tree_host()).layout.binds.empty());
    }
    SUBCASE("the caller's files are mounted as in host mode") {
        o.command = {"python3", "/home/u/proj/main.py"};
        ContainerSpec s = make_spec(o, tree_host());
        CHECK(s.layout.binds == std::vector<Bind>{{"/home/u/proj", "/home/u/proj", false}});
    }
}

TEST_CASE("spec: --rootfs: the working directory is the caller's only where bound") {
    HostInfo h = tree_host();
    h.cwd = "/etc";
    CHECK(make_spec(tree_opts(), h).process.cwd == "/home/u");
    h.cwd = "/home/u/proj";
    Options o = tree_opts();
    o.binds = {"/home/u/proj"};
    o.binds_ro_forced = {false};
    CHECK(make_spec(o, h).process.cwd == "/home/u/proj");
}

// ---- make_spec: --userns, --subids ----------------------------------------------------------

namespace {

// The host's small files, by path.
std::function<std::string(const std::string&)> files(
    std::vector<std::pair<std::string, std::string>> table) {
    return [table](const std::string& p) {
        for (const auto& [path, text] : table)
            if (path == p) return text;
        return std::string();
    };
}

HostInfo root_host() {
    HostInfo h = host();
    h.uid = 0;
    h.gid = 0;
    h.real_root = true;
    return h;
}

HostInfo subid_host() {
    HostInfo h = host();
    h.executable = [](const std::string& p) {
        return p == "/usr/bin/newuidmap" || p == "/usr/bin/newgidmap";
    };
    h.read_text =
        files({{"/etc/passwd", "root:x:0:0::/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n"},
               {"/etc/subuid", "u:100000:65536\n"},
               {"/etc/subgid", "u:300000:65536\n"}});
    return h;
}

using Map = std::vector<IdMapLine>;

}  // namespace

TEST_CASE("spec: real root with --userns maps root to its subordinate range") {
    HostInfo h = root_host();
    h.read_text =
        files({{"/etc/subuid", "root:100000:65536\n"}, {"/etc/subgid", "root:200000:65536\n"}});
    Options o;
    o.userns = true;
    ContainerSpec s = make_spec(o, h);
    CHECK(s.identity.userns);
    CHECK(s.identity.map_writer == MapWriter::Parent);
    CHECK(s.identity.uid_map == Map{{0, 100000, 65536}});
    CHECK(s.identity.gid_map == Map{{0, 200000, 65536}});
    CHECK(s.identity.uid == 0);
    CHECK(s.identity.gid == 0);
}

TEST_CASE("spec: real root with --userns and no range maps root to nobody") {
    Options o;
    o.userns = true;
    ContainerSpec s = make_spec(o, root_host());
    CHECK(s.identity.userns);
    CHECK(s.identity.map_writer == MapWriter::Parent);
    CHECK(s.identity.uid_map == Map{{0, 65534, 1}});
    CHECK(s.identity.gid_map == Map{{0, 65534, 1}});
    SUBCASE("--subids then insists on the range") {
        o.subids = true;
        CHECK_THROWS_WITH(make_spec(o, root_host()),
                          "--subids: no range for root in /etc/subuid and /etc/subgid");
    }
}

TEST_CASE("spec: real root without --userns: --subids has no effect") {
    Options o;
    o.subids = true;
    ContainerSpec s = make_spec(o, root_host());
    CHECK_FALSE(s.identity.userns);
    CHECK(s.identity.uid_map.empty());
    CHECK(s.notes.size() == 1);
}

TEST_CASE("spec: --userns unprivileged changes nothing") {
    Options o;
    o.userns = true;
    ContainerSpec s = make_spec(o, host());
    CHECK(s.identity.map_writer == MapWriter::Self);
    CHECK(s.identity.uid_map == Map{{0, 1000, 1}});
}

TEST_CASE("spec: --subids maps 0 to the caller and 1..65536 to the range, through the helpers") {
    Options o;
    o.subids = true;
    ContainerSpec s = make_spec(o, subid_host());
    CHECK(s.identity.userns);
    CHECK(s.identity.map_writer == MapWriter::Helpers);
    CHECK(s.identity.newuidmap == "/usr/bin/newuidmap");
    CHECK(s.identity.newgidmap == "/usr/bin/newgidmap");
    CHECK(s.identity.uid_map == Map{{0, 1000, 1}, {1, 100000, 65536}});
    CHECK(s.identity.gid_map == Map{{0, 1000, 1}, {1, 300000, 65536}});
    CHECK(s.identity.uid == 0);

    SUBCASE("with --user the caller keeps its ids") {
        o.user = true;
        ContainerSpec t = make_spec(o, subid_host());
        CHECK(t.identity.uid == 1000);
        CHECK(t.identity.gid == 1000);
        CHECK(t.identity.uid_map == Map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 64536}});
    }
    SUBCASE("a range given by uid") {
        HostInfo h = subid_host();
        h.read_text =
            files({{"/etc/subuid", "1000:100000:65536\n"}, {"/etc/subgid", "1000:5:10\n"}});
        ContainerSpec t = make_spec(o, h);
        CHECK(t.identity.uid_map == Map{{0, 1000, 1}, {1, 100000, 65536}});
        CHECK(t.identity.gid_map == Map{{0, 1000, 1}, {1, 5, 10}});
    }
}

TEST_CASE("spec: [defaults] subids = true is honoured, and named in errors") {
    Config cfg = default_config();
    cfg.subids.value = true;
    cfg.subids.set = true;
    cfg.subids.origin = {"/c.toml", 3};
    CHECK(make_spec(Options{}, cfg, subid_host()).identity.map_writer == MapWriter::Helpers);
    HostInfo h = subid_host();
    h.executable = [](const std::string&) { return false; };
    CHECK_THROWS_WITH(make_spec(Options{}, cfg, h),
                      "/c.toml:3: subids = true: newuidmap not found (install the uidmap package)");
    CHECK(effective_config(Options{}, cfg).subids.value);
    Options o;
    o.subids = true;
    CHECK(effective_config(o, default_config()).subids.value);
    CHECK(effective_config(o, default_config()).subids.origin.file == "command line");
}

TEST_CASE("spec: --subids errors say what is missing") {
    Options o;
    o.subids = true;
    SUBCASE("no newuidmap") {
        HostInfo h = subid_host();
        h.executable = [](const std::string& p) { return p == "/usr/bin/newgidmap"; };
        CHECK_THROWS_WITH(make_spec(o, h),
                          "--subids: newuidmap not found (install the uidmap package)");
    }
    SUBCASE("no newgidmap") {
        HostInfo h = subid_host();
        h.executable = [](const std::string& p) { return p == "/usr/bin/newuidmap"; };
        CHECK_THROWS_WITH(make_spec(o, h),
                          "--subids: newgidmap not found (install the uidmap package)");
    }
    SUBCASE("the helpers are looked for on the caller's PATH") {
        HostInfo h = subid_host();
        h.environ = {"PATH=/opt/shadow/bin"};
        h.executable = [](const std::string& p) { return p.rfind("/opt/shadow/bin/", 0) == 0; };
        ContainerSpec s = make_spec(o, h);
        CHECK(s.identity.newuidmap == "/opt/shadow/bin/newuidmap");
        h.executable = [](const std::string& p) { return p.rfind("/usr/bin/", 0) == 0; };
        CHECK_THROWS_WITH(make_spec(o, h), doctest::Contains("newuidmap not found"));
    }
    SUBCASE("no range in /etc/subuid") {
        HostInfo h = subid_host();
        h.read_text = files({{"/etc/passwd", "u:x:1000:1000::/home/u:/bin/sh\n"},
                             {"/etc/subgid", "u:300000:65536\n"}});
        CHECK_THROWS_WITH(make_spec(o, h),
                          doctest::Contains("--subids: no range for u in /etc/subuid"));
    }
    SUBCASE("no range in /etc/subgid") {
        HostInfo h = subid_host();
        h.read_text = files({{"/etc/passwd", "u:x:1000:1000::/home/u:/bin/sh\n"},
                             {"/etc/subuid", "u:100000:65536\n"}});
        CHECK_THROWS_WITH(make_spec(o, h),
                          doctest::Contains("--subids: no range for u in /etc/subgid"));
    }
    SUBCASE("a user /etc/passwd does not know is named by uid") {
        HostInfo h = subid_host();
        h.read_text = files({});
        CHECK_THROWS_WITH(make_spec(o, h),
                          doctest::Contains("--subids: no range for 1000 in /etc/subuid"));
    }
}

// ---- visible_inside -------------------------------------------------------------------------

TEST_CASE("spec: visible_inside") {
    ContainerSpec s;
    s.layout.system = {{"/usr", false, ""}, {"/bin", true, "usr/bin"}, {"/etc", false, ""}};

    SUBCASE("system directories") {
        CHECK(visible_inside("/usr", s.layout));
        CHECK(visible_inside("/usr/lib/x", s.layout));
        CHECK(visible_inside("/etc/passwd", s.layout));
        CHECK_FALSE(visible_inside("/bin/ls", s.layout));  // a link, not the host's directory
        CHECK_FALSE(visible_inside("/usrx", s.layout));
        CHECK_FALSE(visible_inside("/home/u", s.layout));
        CHECK_FALSE(visible_inside("/", s.layout));
    }
    SUBCASE("a later bind hides an earlier one") {
        s.layout.binds = {{"/a", "/a", false}, {"/elsewhere", "/a/x", false}};
        CHECK(visible_inside("/a", s.layout));
        CHECK(visible_inside("/a/y", s.layout));
        CHECK(visible_inside("/a/xy", s.layout));
        CHECK_FALSE(visible_inside("/a/x", s.layout));
        CHECK_FALSE(visible_inside("/a/x/z", s.layout));
    }
    SUBCASE("a later same-path bind over an earlier foreign one") {
        s.layout.binds = {{"/elsewhere", "/a/x", false}, {"/a", "/a", false}};
        CHECK(visible_inside("/a/x/z", s.layout));
    }
    SUBCASE("a bind hides a system directory") {
        s.layout.binds = {{"/srv/usr", "/usr/local", true}};
        CHECK_FALSE(visible_inside("/usr/local/bin", s.layout));
        CHECK(visible_inside("/usr/lib", s.layout));
    }
    SUBCASE("a same-path bind makes a non-system path visible; ro does not matter") {
        s.layout.binds = {{"/srv/data", "/srv/data", true}};
        CHECK(visible_inside("/srv/data/f", s.layout));
        CHECK_FALSE(visible_inside("/srv", s.layout));
    }
}

// ---- make_spec: links, fresh directories and kakuri's own state --------------------------------

namespace {

// host() with a small file system: directories, files and symlinks (resolved as realpath(3)
// would, a missing rest kept as written), as scan_host's kind and resolve see it.
struct Fs {
    std::vector<std::string> dirs, files;
    std::vector<std::pair<std::string, std::string>> links;  // path, absolute target

    std::string resolve(const std::string& p) const {
        std::string cur = normalize_path(p);
        for (int hops = 0; hops < 40; ++hops) {
            bool changed = false;
            for (const auto& [from, to] : links) {
                if (path_within(cur, from)) {
                    cur = normalize_path(to + cur.substr(from.size()));
                    changed = true;
                    break;
                }
            }
            if (!changed) break;
        }
        return cur;
    }
    HostInfo host() const {
        HostInfo h = kakuri::host();
        h.resolve = [this](const std::string& p) { return resolve(p); };
        h.kind = [this](const std::string& p) {
            std::string r = resolve(p);
            for (const auto& d : dirs)
                if (r == d || path_within(d, r)) return PathKind::Directory;
            for (const auto& f : files)
                if (r == f) return PathKind::File;
            return PathKind::Missing;
        };
        return h;
    }
};

std::vector<std::string> hidden_paths(const ContainerSpec& s) {
    std::vector<std::string> out;
    for (const auto& h : s.layout.hidden) out.push_back(h.path + (h.dir ? "/" : ""));
    return out;
}

}  // namespace

TEST_CASE("spec: kakuri's own state: the binary itself, unless under /usr") {
    Fs fs;
    HostInfo h = fs.host();
    SUBCASE("a build tree's binary: hidden where a bind would show it") {
        h.binary = "/home/u/src/kakuri/build/kakuri";
        ContainerSpec s = make_spec(Options{}, h);
        REQUIRE(s.layout.hidden.size() == 6);
        CHECK(s.layout.hidden[5].path == "/home/u/src/kakuri/build/kakuri");
        CHECK_FALSE(s.layout.hidden[5].dir);
        CHECK(s.layout.hidden[5].what == "kakuri binary");
    }
    SUBCASE("an installed binary: the container sees /usr through an overlay or read-only") {
        for (const char* b : {"/usr/bin/kakuri", "/usr/local/bin/kakuri"}) {
            h.binary = b;
            CHECK(make_spec(Options{}, h).layout.hidden.size() == 5);
        }
    }
    SUBCASE("unknown") {
        h.binary = "";
        CHECK(make_spec(Options{}, h).layout.hidden.size() == 5);
    }
}

TEST_CASE("spec: kakuri's own state: containers_dir and the config directories") {
    Fs fs;
    HostInfo h = fs.host();
    Options o;
    SUBCASE("the defaults") {
        ContainerSpec s = make_spec(o, h);
        CHECK(hidden_paths(s) == Strings{"/home/u/.local/kakuri/containers/", "/etc/kakuri/",
                                         "/home/u/.config/container/",
                                         "/home/u/.local/kakuri/images/",
                                         "/home/u/.local/kakuri/changes/"});
        CHECK(s.layout.hidden[3].what == "images_dir");
        CHECK(s.layout.hidden[3].mode == 0700);
        CHECK(s.layout.hidden[0].mode == 0700);
        CHECK(s.layout.hidden[1].mode == 0755);
        CHECK(s.layout.hidden[0].make);
        CHECK_FALSE(s.layout.hidden[1].make);  // /etc/kakuri
        CHECK(s.layout.hidden[2].make);
    }
    SUBCASE("containers_dir from the config; XDG_CONFIG_HOME's directory and ~/.config's") {
        Config cfg = default_config();
        cfg.containers_dir.value = "/srv/kakuri";
        h.environ.push_back("XDG_CONFIG_HOME=/home/u/xdg");
        CHECK(hidden_paths(make_spec(o, cfg, h)) ==
              Strings{"/srv/kakuri/", "/etc/kakuri/", "/home/u/xdg/container/",
                      "/home/u/.config/container/", "/home/u/.local/kakuri/images/",
                      "/home/u/.local/kakuri/changes/"});
    }
    SUBCASE("a file named by --config or KAKURI_CONFIG: the file alone") {
        fs.files = {"/home/u/proj/k.toml", "/home/u/env.toml"};
        h = fs.host();
        o.config = "proj/k.toml";
        h.environ.push_back("KAKURI_CONFIG=/home/u/env.toml");
        ContainerSpec s = make_spec(o, h);
        CHECK(hidden_paths(s) == Strings{"/home/u/.local/kakuri/containers/", "/etc/kakuri/",
                                         "/home/u/.config/container/", "/home/u/proj/k.toml",
                                         "/home/u/env.toml", "/home/u/.local/kakuri/images/",
                                         "/home/u/.local/kakuri/changes/"});
        CHECK(s.layout.hidden[3].what == "config file");
    }
    SUBCASE("a pipe (--config <(...)) is nothing to hide") {
        o.config = "/dev/fd/63";
        CHECK(make_spec(o, h).layout.hidden.size() == 5);
    }
    SUBCASE("resolved through links") {
        fs.links = {{"/home/u/.local", "/data/local"}};
        h = fs.host();
        CHECK(make_spec(o, h).layout.hidden[0].path == "/data/local/kakuri/containers");
    }
}

TEST_CASE("spec: a bind from inside kakuri's own state is refused") {
    Fs fs;
    fs.dirs = {"/home/u/.local/kakuri/containers/box", "/home/u/.config/container"};
    fs.links = {{"/home/u/lnk", "/home/u/.local/kakuri/containers"}};
    HostInfo h = fs.host();
    for (const char* b : {"~/.local/kakuri/containers", "~/.local/kakuri/containers/box:/x:ro",
                          "/home/u/lnk/box", "~/.config/container", "/etc/kakuri"}) {
        CAPTURE(b);
        CHECK_THROWS_WITH(make_spec(bind_opts({b}), h),
                          doctest::Contains("is inside kakuri's own state"));
    }
    CHECK_THROWS_WITH(make_spec(bind_opts({"/home/u/lnk/box"}), h),
                      "--bind /home/u/lnk/box: /home/u/.local/kakuri/containers/box is inside "
                      "kakuri's own state (containers_dir /home/u/.local/kakuri/containers), "
                      "which no container may reach");
    Config cfg = default_config();
    cfg.bind.value = {"~/.local/kakuri/containers/box"};
    cfg.bind.origin = {"/home/u/.config/container/config.toml", 3};
    CHECK_THROWS_WITH(make_spec(Options{}, cfg, h),
                      doctest::Contains("/home/u/.config/container/config.toml:3: bind "));
    cfg = default_config();
    cfg.profiles["p"] = {{"~/.local/kakuri/containers/box"}, {"/etc/x.toml", 7}};
    Options o;
    o.bind_profiles = {"p"};
    CHECK_THROWS_WITH(make_spec(o, cfg, h), doctest::Contains("/etc/x.toml:7: profile 'p': "));
    o = Options{};
    o.rootfs = "~/.local/kakuri/containers/box";
    CHECK_THROWS_WITH(make_spec(o, h), doctest::Contains("is inside kakuri's own state"));
    // Around it is the user's choice: the plan hides it there.
    CHECK(make_spec(bind_opts({"~/.local", "~"}), h).layout.binds.size() == 2);
}

TEST_CASE("spec: a bind's source is what it resolves to, its destination the name given") {
    Fs fs;
    fs.dirs = {"/data/real"};
    fs.links = {{"/home/u/lnk", "/data/real"}};
    ContainerSpec s = make_spec(bind_opts({"~/lnk", "~/lnk:/x"}), fs.host());
    CHECK(s.layout.binds ==
          std::vector<Bind>{{"/data/real", "/home/u/lnk", false}, {"/data/real", "/x", false}});
}

TEST_CASE("spec: automatic mounts go through the rules on resolved paths") {
    Fs fs;
    fs.dirs = {"/home/u/proj/v2", "/proc/sys/kernel", "/tmp/b", "/srv/x"};
    fs.files = {"/home/u/proj/v2/a.py", "/tmp/b/x.c", "/home/u/.local/kakuri/containers/c/x"};
    fs.links = {{"/home/u/proj/latest", "/home/u/proj/v2"},
                {"/home/u/proj/out", "/proc/sys/kernel"},
                {"/home/u/proj/st", "/home/u/.local/kakuri/containers/c"}};
    HostInfo h = fs.host();
    Options o;
    o.verbosity = 1;
    SUBCASE("a link in a project: its target, and the link made inside") {
        o.command = {"python3", "/home/u/proj/latest/a.py"};
        ContainerSpec s = make_spec(o, h);
        CHECK(s.layout.binds == std::vector<Bind>{{"/home/u/proj/v2", "/home/u/proj/v2", false}});
        CHECK(s.layout.links == std::vector<PathLink>{{"/home/u/proj/latest", "/home/u/proj/v2"}});
        CHECK(std::find(s.notes.begin(), s.notes.end(),
                        "auto-mount link /home/u/proj/latest -> /home/u/proj/v2") != s.notes.end());
    }
    SUBCASE("no link is made through a bind, where it would land on the host") {
        o.command = {"python3", "/home/u/proj/latest/a.py"};
        o.binds = {"/srv/x:/home/u/proj"};
        o.binds_ro_forced = {false};
        CHECK(make_spec(o, h).layout.links.empty());
    }
    SUBCASE("links to the kernel's files and to kakuri's state: nothing, said with -v") {
        o.command = {"cat", "/home/u/proj/out/core_pattern", "/home/u/proj/st/x"};
        ContainerSpec s = make_spec(o, h);
        CHECK(s.layout.binds.empty());
        CHECK(s.layout.links.empty());
        CHECK(s.notes == Strings{"not mounted: /home/u/proj/out/core_pattern (-> "
                                 "/proc/sys/kernel/core_pattern): the container has its own /proc",
                                 "not mounted: /home/u/proj/st/x (-> "
                                 "/home/u/.local/kakuri/containers/c/x): it is kakuri's own state "
                                 "(containers_dir /home/u/.local/kakuri/containers)"});
    }
    SUBCASE("under /tmp: the working directory itself, never /tmp around it") {
        h.cwd = "/tmp/b";
        o.command = {"cc", "x.c", "-o", "/tmp/b/a.out"};
        ContainerSpec s = make_spec(o, h);
        CHECK(s.layout.binds == std::vector<Bind>{{"/tmp/b", "/tmp/b", false}});
        CHECK(s.process.cwd == "/tmp/b");
        h.cwd = "/tmp";
        o.command = {"cc", "b/x.c"};
        CHECK(make_spec(o, h).layout.binds ==
              std::vector<Bind>{{"/tmp/b/x.c", "/tmp/b/x.c", false}});
    }
    SUBCASE("under /tmp, without the working-directory rule: the file alone") {
        h.cwd = "/tmp/b";
        Config cfg = default_config();
        cfg.auto_mount_workdir.value = false;
        o.command = {"cc", "x.c", "-o", "/tmp/b/a.out"};
        ContainerSpec s = make_spec(o, cfg, h);
        CHECK(s.layout.binds == std::vector<Bind>{{"/tmp/b/x.c", "/tmp/b/x.c", false}});
        CHECK(s.process.cwd == "/tmp/b");
        o.command = {"cc", "-o", "/tmp/b/a.out"};
        CHECK(make_spec(o, cfg, h).process.cwd == "/home/u");
    }
}

TEST_CASE("spec: fresh_dirs: the host's and a root filesystem's") {
    auto paths = [](bool rootfs) {
        Strings out;
        for (const auto& f : fresh_dirs(rootfs)) out.push_back(f.path);
        return out;
    };
    CHECK(paths(false) == Strings{"/tmp", "/var/tmp", "/run", "/dev/shm"});
    CHECK(paths(true) == Strings{"/tmp", "/run", "/dev/shm"});
    ContainerSpec s;
    s.layout.system = {{"/var", false, ""}};
    CHECK_FALSE(visible_inside("/var/tmp/x", s.layout));
    CHECK(visible_inside("/var/lib/x", s.layout));
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE("spec: the working directory is mounted as if named (README, Automatic path mounting)") {
    Fs fs;
    fs.dirs = {"/home/u/proj/src", "/srv/work", "/etc/apt", "/tmp/build"};
    HostInfo h = fs.host();
    Options o;
    o.command = {"make"};
    auto binds_in = [&](const std::string& cwd) {
        h.cwd = cwd;
        return make_spec(o, h).layout.binds;
    };
    using Binds = std::vector<Bind>;
    SUBCASE("a project directory: mounted read-write, and the command starts there") {
        CHECK(binds_in("/home/u/proj") == Binds{{"/home/u/proj", "/home/u/proj", false}});
        CHECK(make_spec(o, h).process.cwd == "/home/u/proj");
        CHECK(binds_in("/srv/work") == Binds{{"/srv/work", "/srv/work", false}});
        CHECK(binds_in("/tmp/build") == Binds{{"/tmp/build", "/tmp/build", false}});
    }
    SUBCASE("$HOME itself, /, a system directory, a fresh one: nothing") {
        for (const char* d : {"/home/u", "/", "/etc/apt", "/etc", "/usr", "/tmp"}) {
            CAPTURE(d);
            CHECK(binds_in(d).empty());
        }
    }
    SUBCASE("under a bind: the bind shows it already") {
        o.binds = {"/home/u/proj"};
        o.binds_ro_forced = {false};
        CHECK(binds_in("/home/u/proj/src") == Binds{{"/home/u/proj", "/home/u/proj", false}});
    }
    SUBCASE("--auto-mount=ro: read-only; off: nothing") {
        o.auto_mount = "ro";
        CHECK(binds_in("/home/u/proj") == Binds{{"/home/u/proj", "/home/u/proj", true}});
        o.auto_mount = "off";
        CHECK(binds_in("/home/u/proj").empty());
        CHECK(make_spec(o, h).process.cwd == "/home/u");
    }
    SUBCASE("auto_mount_workdir = false: nothing") {
        Config cfg = default_config();
        cfg.auto_mount_workdir.value = false;
        h.cwd = "/home/u/proj";
        CHECK(make_spec(o, cfg, h).layout.binds.empty());
    }
    SUBCASE("-w names where to start: the caller's directory is not the working directory") {
        o.workdir = "/srv/work";
        CHECK(binds_in("/home/u/proj").empty());
    }
    SUBCASE("an argument inside it adds nothing") {
        o.command = {"cc", "src/main.c"};
        fs.files = {"/home/u/proj/src/main.c"};
        h = fs.host();
        CHECK(binds_in("/home/u/proj") == Binds{{"/home/u/proj", "/home/u/proj", false}});
    }
}

TEST_CASE("spec: a command named with its path, or a virtual environment's, is made visible") {
    Fs fs;
    fs.dirs = {"/home/u/proj", "/home/u/venv/bin"};
    fs.files = {"/home/u/proj/run.sh", "/home/u/venv/pyvenv.cfg", "/home/u/venv/bin/python",
                "/home/u/tools/t"};
    HostInfo h = fs.host();
    h.executable = [](const std::string& p) {
        return p == "/home/u/proj/run.sh" || p == "/home/u/venv/bin/python" ||
               p == "/home/u/tools/t" || p == "/usr/bin/python";
    };
    Options o;
    o.auto_mount = "off";  // the command's own rule, not the working directory's
    using Binds = std::vector<Bind>;
    SUBCASE("./run.sh: its directory, read-only, run by its path") {
        h.cwd = "/home/u/proj";
        o.command = {"./run.sh"};
        ContainerSpec s = make_spec(o, h);
        CHECK(s.layout.binds == Binds{{"/home/u/proj", "/home/u/proj", true}});
        CHECK(s.process.argv[0] == "/home/u/proj/run.sh");
    }
    SUBCASE("~/venv/bin/python: the environment's root") {
        o.command = {"/home/u/venv/bin/python", "app.py"};
        ContainerSpec s = make_spec(o, h);
        CHECK(s.layout.binds == Binds{{"/home/u/venv", "/home/u/venv", true}});
        CHECK(s.process.argv[0] == "/home/u/venv/bin/python");
    }
    SUBCASE("an activated environment: its python, before the system's") {
        h.environ = {"PATH=/home/u/venv/bin:/usr/bin:/bin", "HOME=/home/u"};
        o.command = {"python", "app.py"};
        ContainerSpec s = make_spec(o, h);
        CHECK(s.layout.binds == Binds{{"/home/u/venv", "/home/u/venv", true}});
        CHECK(s.process.argv[0] == "/home/u/venv/bin/python");
    }
    SUBCASE("in a root filesystem nothing of the host is bound") {
        o.rootfs = "/srv/tree";
        fs.dirs.push_back("/srv/tree");
        h = fs.host();
        h.kind_in_root = [](const std::string&, const std::string&) { return PathKind::File; };
        o.command = {"/home/u/venv/bin/python"};
        CHECK(make_spec(o, h).layout.binds.empty());
    }
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE("spec: a working directory kakuri chose falls back to /, one -w names does not") {
    HostInfo h = host();
    ContainerSpec s = make_spec(Options{}, h);
    CHECK(s.process.cwd == "/home/u");
    CHECK(s.process.cwd_fallback == "/");
    CHECK(make_plan(s).process.cwd_fallback == "/");
    Options o;
    o.workdir = "/srv";
    ContainerSpec w = make_spec(o, h);
    CHECK(w.process.cwd == "/srv");
    CHECK(w.process.cwd_fallback == "");
    h.home = "";
    CHECK(make_spec(Options{}, h).process.cwd_fallback == "");  // "/" already
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE(
    "spec: limits from the command line over the config; in-memory writes default to --memory") {
    Options o;
    o.command = {"true"};
    ContainerSpec s = make_spec(o, host());
    CHECK(s.policy.limits == Limits{});
    Config cfg = default_config();
    parse_config("[defaults]\nmemory = \"1G\"\npids_limit = \"100\"\ncpus = \"2\"\n", "c.toml",
                 cfg);
    s = make_spec(o, cfg, host());
    CHECK(s.policy.limits.memory == 1ULL << 30);
    CHECK(s.policy.limits.pids == 100);
    CHECK(s.policy.limits.cpu_millis == 2000);
    CHECK(s.policy.limits.tmpfs_size == 1ULL << 30);  // the memory, when not set apart
    o.memory = "256M";
    o.pids_limit = "50";
    o.cpus = "0.5";
    s = make_spec(o, cfg, host());
    CHECK(s.policy.limits.memory == 256ULL << 20);
    CHECK(s.policy.limits.pids == 50);
    CHECK(s.policy.limits.cpu_millis == 500);
    CHECK(s.policy.limits.tmpfs_size == 256ULL << 20);
    o.tmpfs_size = "32M";
    CHECK(make_spec(o, cfg, host()).policy.limits.tmpfs_size == 32ULL << 20);
    // `kakuri config` shows each with where it came from.
    const std::string shown = format_config(effective_config(o, cfg));
    CHECK(shown.find("memory = \"256M\"") != std::string::npos);
    CHECK(shown.find("pids_limit = \"50\"") != std::string::npos);
    CHECK(shown.find("cpus = \"0.5\"") != std::string::npos);
    CHECK(shown.find("tmpfs_size = \"32M\"") != std::string::npos);
    // A bad value that did not come through cli (a test's Options) is still one line.
    o.cpus = "lots";
    CHECK_THROWS_WITH_AS(make_spec(o, cfg, host()),
                         doctest::Contains("--cpus takes a number of CPUs"), Error);
}

}  // namespace kakuri

namespace kakuri {
namespace {

TEST_CASE("spec: --overlay SRC[:DST] is a directory shown copy-on-write, in the bind order") {
    Options o;
    o.overlays = {"~/proj", "/data:/d"};
    ContainerSpec s = make_spec(o, host_with({"/home/u/proj", "/data"}));
    REQUIRE(s.layout.binds.size() >= 2);
    CHECK(s.layout.binds[0].overlay);
    CHECK(s.layout.binds[0].src == "/home/u/proj");
    CHECK(s.layout.binds[0].dst == "/home/u/proj");
    CHECK(s.layout.binds[1].dst == "/d");
    CHECK_FALSE(s.layout.binds[0].ro);
    // Seen inside: no automatic bind of the working directory's files over it.
    CHECK(visible_inside("/home/u/proj/x.c", s.layout));
    for (const char* bad : {"/data:ro", "/data:/d:rw", "/data:/d:overlay"}) {
        Options b;
        b.overlays = {bad};
        CHECK_THROWS_AS(make_spec(b, host_with({"/data"})), Error);
    }
    Options missing;
    missing.overlays = {"/nope"};
    CHECK_THROWS_WITH_AS(make_spec(missing, host_with({})), doctest::Contains("does not exist"),
                         Error);
    HostInfo h = host_with({});
    h.kind = [](const std::string&) { return PathKind::File; };
    Options f;
    f.overlays = {"/etc/hosts"};
    CHECK_THROWS_WITH_AS(make_spec(f, h), doctest::Contains("not a directory"), Error);
    // A bind text's :overlay (config bind entries, profiles) means the same.
    CHECK(parse_bind_spec("~/proj:/p:overlay", false, "/home/u", "/").overlay);
    CHECK_THROWS_AS(parse_bind_spec("~/proj:overlay", true, "/home/u", "/"), Error);
}

}  // namespace
}  // namespace kakuri
