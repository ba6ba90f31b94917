// Unit tests for idmap: /etc/subuid and /etc/passwd parsing, subordinate id maps, helper argv.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "idmap.hpp"

namespace doctest {
template <>
struct StringMaker<std::vector<kakuri::IdMapLine>> {
    static String convert(const std::vector<kakuri::IdMapLine>& m) {
        return ("[" + kakuri::format_id_map(m) + "]").c_str();
    }
};
}  // namespace doctest

namespace kakuri {

namespace {

using Map = std::vector<IdMapLine>;

// The range find_subid_range gives, or {0, 0} for none.
SubidRange range_of(const std::string& text, const std::string& name, uint32_t id) {
    SubidRange r;
    if (!find_subid_range(text, name, id, r)) return {0, 0};
    CHECK(r.count > 0);
    return r;
}

bool same(const SubidRange& a, uint32_t start, uint32_t count) {
    return a.start == start && a.count == count;
}

}  // namespace

TEST_CASE("idmap: find_subid_range by name and by uid") {
    const std::string text = "bob:100000:65536\nalice:165536:65536\n1000:300000:10\n";
    CHECK(same(range_of(text, "alice", 1001), 165536, 65536));
    CHECK(same(range_of(text, "bob", 1002), 100000, 65536));
    // No name entry: the uid's.
    CHECK(same(range_of(text, "carol", 1000), 300000, 10));
    CHECK(same(range_of(text, "", 1000), 300000, 10));
    // None at all.
    CHECK(same(range_of(text, "dave", 1003), 0, 0));
    CHECK(same(range_of("", "alice", 1001), 0, 0));
}

TEST_CASE("idmap: find_subid_range: a name entry wins over an earlier uid entry") {
    const std::string text = "1000:300000:65536\nalice:100000:65536\n";
    CHECK(same(range_of(text, "alice", 1000), 100000, 65536));
}

TEST_CASE("idmap: find_subid_range: the first of several ranges") {
    const std::string text = "alice:100000:65536\nalice:500000:65536\n";
    CHECK(same(range_of(text, "alice", 1000), 100000, 65536));
}

TEST_CASE("idmap: find_subid_range skips malformed lines and empty ranges") {
    const std::string text =
        "# a comment\n"
        "\n"
        "alice:100000\n"          // two fields
        "alice:100000:65536:x\n"  // four
        "alice:-5:65536\n"        // sign
        "alice: 100000:65536\n"   // space
        "alice:100000:0\n"        // empty
        "alice:4294967295:2\n"    // past the last id
        "alice:99999999999:1\n"   // overflow
        "alice:x:1\n"             // not a number
        "alicia:1:1\n"            // another name starting alike
        "alice:200000:1000\n";
    CHECK(same(range_of(text, "alice", 1000), 200000, 1000));
    CHECK(same(range_of("alice:4294967295:1\n", "alice", 1000), 4294967295u, 1));
    CHECK(same(range_of("ALICE:1:1\n", "alice", 1000), 0, 0));
}

TEST_CASE("idmap: find_subid_range without a trailing newline") {
    CHECK(same(range_of("alice:100000:65536", "alice", 1000), 100000, 65536));
}

TEST_CASE("idmap: passwd_name") {
    const std::string passwd =
        "root:x:0:0:root:/root:/bin/bash\n"
        "broken line\n"
        ":x:5:5::/:/bin/sh\n"
        "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
        "kakuri-it:x:64123:64123::/nonexistent:/bin/sh";
    CHECK(passwd_name(passwd, 0) == "root");
    CHECK(passwd_name(passwd, 1000) == "alice");
    CHECK(passwd_name(passwd, 64123) == "kakuri-it");
    CHECK(passwd_name(passwd, 5).empty());
    CHECK(passwd_name(passwd, 1001).empty());
    CHECK(passwd_name("", 0).empty());
}

TEST_CASE("idmap: subid_map for root inside: 0 is the caller, 1..N the range") {
    CHECK(subid_map(0, 1000, {100000, 65536}) == Map{{0, 1000, 1}, {1, 100000, 65536}});
    // A bigger range is used up to 65536 ids, a smaller one whole.
    CHECK(subid_map(0, 1000, {100000, 1000000}) == Map{{0, 1000, 1}, {1, 100000, 65536}});
    CHECK(subid_map(0, 1000, {100000, 10}) == Map{{0, 1000, 1}, {1, 100000, 10}});
}

TEST_CASE("idmap: subid_map for --user: the caller keeps its own id inside") {
    CHECK(subid_map(1000, 1000, {100000, 65536}) ==
          Map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 64536}});
    // At the top of the range: nothing after it.
    CHECK(subid_map(10, 1000, {100000, 10}) == Map{{0, 100000, 10}, {10, 1000, 1}});
    // Past the range: the range from 0, then the caller alone.
    CHECK(subid_map(64123, 64123, {200000, 1000}) == Map{{0, 200000, 1000}, {64123, 64123, 1}});
}

TEST_CASE("idmap: map_helper_argv") {
    CHECK(map_helper_argv("/usr/bin/newuidmap", 4321, {{0, 1000, 1}, {1, 100000, 65536}}) ==
          std::vector<std::string>{"/usr/bin/newuidmap", "4321", "0", "1000", "1", "1", "100000",
                                   "65536"});
}

TEST_CASE("idmap: format_id_map writes one line per range") {
    CHECK(format_id_map({{0, 1000, 1}, {1, 100000, 65536}}) == "0 1000 1\n1 100000 65536\n");
    CHECK(format_id_map({}).empty());
}

}  // namespace kakuri
