// Unit tests for durable: a container's recorded spec survives its record, every field.
#include <doctest/doctest.h>

#include "durable.hpp"
#include "strings.hpp"
#include "sys.hpp"

using namespace kakuri;

namespace {

ContainerSpec every_field() {
    ContainerSpec s;
    s.userns = true;
    s.uid_map = {{0, 100000, 65536}, {1000, 1000, 1}};
    s.gid_map = {{0, 100000, 65536}};
    s.map_writer = MapWriter::Helpers;
    s.newuidmap = "/usr/bin/newuidmap";
    s.newgidmap = "/usr/bin/newgidmap";
    s.uid = 1000;
    s.gid = 1001;
    s.user = true;
    s.caller_uid = 1000;
    s.caller_gid = 1001;
    s.share_net = true;
    s.hostname = "box";
    s.rootfs = "/srv/roots/a b%c";
    s.system = {{"/usr", false, "", true}, {"/bin", true, "usr/bin", false}, {"/etc", false, "", false}};
    s.home = "/home/alice";
    s.binds = {{"/src/with space", "/dst", false}, {"/ro\tsrc", "/ro", true}};
    s.links = {{"/home/alice/proj/latest", "/home/alice/proj/v2"}};
    s.seccomp = false;
    s.caps = 0xa80425fbULL;
    s.rules.auto_mount = "ro";
    s.rules.clearenv = true;
    s.rules.env_unset = {"LS_COLORS"};
    s.rules.env = {"A=1 2", "EMPTY=", "NL=a\nb"};
    s.rules.env_set = {"MY_API_KEY", "X=y"};
    s.rules.env_drop = {"*_SECRET"};
    s.rules.env_keep = {"AWS_REGION"};
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
    CHECK(b.userns == s.userns);
    CHECK(b.uid_map == s.uid_map);
    CHECK(b.gid_map == s.gid_map);
    CHECK(b.map_writer == s.map_writer);
    CHECK(b.newuidmap == s.newuidmap);
    CHECK(b.newgidmap == s.newgidmap);
    CHECK(b.uid == s.uid);
    CHECK(b.gid == s.gid);
    CHECK(b.user == s.user);
    CHECK(b.caller_uid == s.caller_uid);
    CHECK(b.caller_gid == s.caller_gid);
    CHECK(b.share_net == s.share_net);
    CHECK(b.hostname == s.hostname);
    CHECK(b.rootfs == s.rootfs);
    REQUIRE(b.system.size() == s.system.size());
    for (size_t i = 0; i < s.system.size(); ++i) {
        CHECK(b.system[i].path == s.system[i].path);
        CHECK(b.system[i].is_symlink == s.system[i].is_symlink);
        CHECK(b.system[i].link_target == s.system[i].link_target);
        CHECK(b.system[i].read_only == s.system[i].read_only);
    }
    CHECK(b.home == s.home);
    CHECK(b.binds == s.binds);
    CHECK(b.links == s.links);
    CHECK(b.seccomp == s.seccomp);
    CHECK(b.caps == s.caps);
    CHECK(b.rules == s.rules);
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
}
