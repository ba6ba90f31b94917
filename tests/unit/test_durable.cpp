// Unit tests for durable: a container's recorded spec survives its record, every field.
#include <doctest/doctest.h>

#include <algorithm>

#include "durable.hpp"
#include "strings.hpp"
#include "sys.hpp"

using namespace kakuri;

namespace {

ContainerSpec every_field() {
    ContainerSpec s;
    s.identity.userns = true;
    s.identity.uid_map = {{0, 100000, 65536}, {1000, 1000, 1}};
    s.identity.gid_map = {{0, 100000, 65536}};
    s.identity.map_writer = MapWriter::Helpers;
    s.identity.newuidmap = "/usr/bin/newuidmap";
    s.identity.newgidmap = "/usr/bin/newgidmap";
    s.identity.uid = 1000;
    s.identity.gid = 1001;
    s.identity.user = true;
    s.identity.caller_uid = 1000;
    s.identity.caller_gid = 1001;
    s.policy.share_net = true;
    s.policy.hostname = "box";
    s.layout.rootfs = "/srv/roots/a b%c";
    s.layout.system = {
        {"/usr", false, "", true}, {"/bin", true, "usr/bin", false}, {"/etc", false, "", false}};
    s.layout.home = "/home/alice";
    s.layout.binds = {{"/src/with space", "/dst", false}, {"/ro\tsrc", "/ro", true}};
    Bind cow{"/home/alice/proj", "/proj", false};
    cow.overlay = true;
    cow.change_set = 42;
    s.layout.binds.push_back(cow);  // in order among the binds
    s.layout.binds.push_back({"/after", "/after", false});
    s.layout.links = {{"/home/alice/proj/latest", "/home/alice/proj/v2"}};
    s.policy.seccomp = false;
    s.policy.caps = 0xa80425fbULL;
    s.policy.limits.tmpfs_size = 96ULL << 20;
    s.policy.limits.memory = 3ULL << 29;
    s.policy.limits.pids = 50;
    s.policy.limits.cpu_millis = 1250;
    s.process.rules.auto_mount = "ro";
    s.process.rules.clearenv = true;
    s.process.rules.env_unset = {"LS_COLORS"};
    s.process.rules.env = {"A=1 2", "EMPTY=", "NL=a\nb"};
    s.process.rules.env_set = {"MY_API_KEY", "X=y"};
    s.process.rules.env_drop = {"*_SECRET"};
    s.process.rules.env_keep = {"AWS_REGION"};
    return s;
}

}  // namespace

TEST_CASE("durable: every recorded field survives the round trip") {
    ContainerSpec s = every_field();
    Fields f = container_fields(s);
    for (const auto& [k, v] : f) {
        CHECK(k.find_first_of(" \n") == std::string::npos);
        CHECK(v.find('\n') == std::string::npos);  // one line each, whatever a value holds
    }
    ContainerSpec b = container_from_fields(f);
    CHECK(b.identity.userns == s.identity.userns);
    CHECK(b.identity.uid_map == s.identity.uid_map);
    CHECK(b.identity.gid_map == s.identity.gid_map);
    CHECK(b.identity.map_writer == s.identity.map_writer);
    CHECK(b.identity.newuidmap == s.identity.newuidmap);
    CHECK(b.identity.newgidmap == s.identity.newgidmap);
    CHECK(b.identity.uid == s.identity.uid);
    CHECK(b.identity.gid == s.identity.gid);
    CHECK(b.identity.user == s.identity.user);
    CHECK(b.identity.caller_uid == s.identity.caller_uid);
    CHECK(b.identity.caller_gid == s.identity.caller_gid);
    CHECK(b.policy.share_net == s.policy.share_net);
    CHECK(b.policy.hostname == s.policy.hostname);
    CHECK(b.layout.rootfs == s.layout.rootfs);
    REQUIRE(b.layout.system.size() == s.layout.system.size());
    for (size_t i = 0; i < s.layout.system.size(); ++i) {
        CHECK(b.layout.system[i].path == s.layout.system[i].path);
        CHECK(b.layout.system[i].is_symlink == s.layout.system[i].is_symlink);
        CHECK(b.layout.system[i].link_target == s.layout.system[i].link_target);
        CHECK(b.layout.system[i].read_only == s.layout.system[i].read_only);
    }
    CHECK(b.layout.home == s.layout.home);
    CHECK(b.layout.binds == s.layout.binds);
    CHECK(b.layout.links == s.layout.links);
    CHECK(b.policy.seccomp == s.policy.seccomp);
    CHECK(b.policy.caps == s.policy.caps);
    CHECK(b.policy.limits == s.policy.limits);
    CHECK(b.process.rules == s.process.rules);
    CHECK(container_fields(b) == f);
}

TEST_CASE("durable: words are percent-encoded, the empty one included") {
    CHECK(encode_word("a b") == "a%20b");
    CHECK(encode_word("100%") == "100%25");
    CHECK(encode_word("") == "%");
    CHECK(decode_word("%") == "");
    CHECK(decode_word(encode_word("x\n\t%y ")) == "x\n\t%y ");
    CHECK_THROWS_AS(decode_word("%4"), Error);
    CHECK_THROWS_AS(decode_word("%zz"), Error);
}

TEST_CASE("durable: unknown or malformed fields are refused, naming the field") {
    CHECK_THROWS_WITH_AS(container_from_fields({{"frobnicate", "1"}}),
                         "unknown field 'frobnicate' in the container's record", Error);
    CHECK_THROWS_AS(container_from_fields({{"userns", "yes"}}), Error);
    CHECK_THROWS_AS(container_from_fields({{"bind", "rw /only-one"}}), Error);
    CHECK_THROWS_AS(container_from_fields({{"bind", "rx /a /b"}}), Error);
    CHECK_THROWS_AS(container_from_fields({{"uid_map", "0 -1 1"}}), Error);
    CHECK_THROWS_AS(container_from_fields({{"map_writer", "someone"}}), Error);
    CHECK_THROWS_AS(container_from_fields({{"caps", "xyz"}}), Error);
    CHECK_THROWS_AS(container_from_fields({{"tmpfs_size", "0"}}), Error);
    CHECK_THROWS_AS(container_from_fields({{"tmpfs_size", "32X"}}), Error);
}

TEST_CASE("durable: limits are recorded only where set, so older records read as before") {
    ContainerSpec s = every_field();
    s.policy.limits = Limits{};
    for (const auto& field : container_fields(s))
        for (const char* k : {"tmpfs_size", "memory", "pids_limit", "cpus"})
            CHECK(field.first != k);
    CHECK(container_from_fields(container_fields(s)).policy.limits == Limits{});
    s.policy.limits.tmpfs_size = 32ULL << 20;
    s.policy.limits.memory = 3ULL << 29;
    s.policy.limits.cpu_millis = 500;
    s.policy.limits.pids = 50;
    // As the options write them, which inspect shows as they are.
    const Fields f = container_fields(s);
    for (const auto& kv :
         Fields{{"tmpfs_size", "32M"}, {"memory", "1536M"}, {"cpus", "0.5"}, {"pids_limit", "50"}})
        CHECK(std::count(f.begin(), f.end(), kv) == 1);
    // A bare number of bytes reads too (as a record of the first kakuri with tmpfs_size wrote).
    CHECK(container_from_fields({{"tmpfs_size", "33554432"}}).policy.limits.tmpfs_size ==
          32ULL << 20);
    for (const auto& bad : Fields{{"memory", "0"},
                                  {"memory", "lots"},
                                  {"cpus", "0"},
                                  {"pids_limit", "-1"},
                                  {"pids_limit", "1.5"}}) {
        CAPTURE(bad.first);
        CHECK_THROWS_WITH_AS(container_from_fields({bad}),
                             ("bad field '" + bad.first + "' in the container's record").c_str(),
                             Error);
    }
}

namespace kakuri {

TEST_CASE("durable: a private network's fields, only where there is one") {
    ContainerSpec s;
    const Fields plain = container_fields(s);
    for (const auto& [k, v] : plain) {
        CAPTURE(k);
        CHECK((k != "private_net" && k != "publish" && k != "dns" && k != "host_loopback"));
    }
    // A record without them (as kakuri before them wrote it) has no private network.
    CHECK_FALSE(container_from_fields(plain).policy.net.on);

    s.policy.net.on = true;
    s.policy.net.host_loopback = true;
    s.policy.net.dns = "192.0.2.53";
    s.policy.net.publish = {parse_publish("8080:80"), parse_publish("0.0.0.0:53-54:53-54/udp")};
    const Fields f = container_fields(s);
    const ContainerSpec b = container_from_fields(f);
    CHECK(b.policy.net == s.policy.net);
    CHECK(container_fields(b) == f);
    Fields shown = shown_fields(f);
    auto has = [&](const std::string& k, const std::string& v) {
        return std::find(shown.begin(), shown.end(), std::make_pair(k, v)) != shown.end();
    };
    CHECK(has("publish[]", "127.0.0.1:8080:80/tcp"));
    CHECK(has("publish[]", "0.0.0.0:53-54:53-54/udp"));
    CHECK(network_summary(b.policy) == "private 127.0.0.1:8080->80/tcp 0.0.0.0:53-54->53-54/udp");
    s.policy.net.on = false;
    CHECK(network_summary(s.policy) == "none");
    s.policy.share_net = true;
    CHECK(network_summary(s.policy) == "host");
}

TEST_CASE("durable: a malformed publish or dns field is refused") {
    for (const char* bad :
         {"127.0.0.1 8080 80 1", "127.0.0.1 8080 80 1 sctp", "127.0.0.1 0 80 1 tcp",
          "127.0.0.1 65535 80 2 tcp", "127.0.0.1 8080 65535 2 tcp", "127.0.0.1 8080 80 0 tcp",
          "localhost 8080 80 1 tcp", "127.0.0.1 x 80 1 tcp"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(container_from_fields({{"publish", bad}}),
                             "bad field 'publish' in the container's record", Error);
    }
    CHECK_THROWS_WITH_AS(container_from_fields({{"dns", "resolver"}}),
                         "bad field 'dns' in the container's record", Error);
    CHECK_THROWS_AS(container_from_fields({{"private_net", "yes"}}), Error);
}

}  // namespace kakuri

TEST_CASE("durable: an --overlay is recorded with its change set, and a bad id refused") {
    Fields f = {{"overlay", "/a /b 7"}};
    ContainerSpec s = container_from_fields(f);
    REQUIRE(s.layout.binds.size() == 1);
    CHECK(s.layout.binds[0].overlay);
    CHECK(s.layout.binds[0].change_set == 7);
    CHECK(s.layout.binds[0].layer.empty());  // where it lies is the store's, at each start
    for (const char* bad : {"/a /b x", "/a /b ", "/a /b -1", "/a /b 12345678901"})
        CHECK_THROWS_AS(container_from_fields({{"overlay", bad}}), Error);
}
