// Unit tests for changes: the pure part (what an upper-layer entry means, links, conflicts, the
// meta file, which changes a PATH chooses, the listing).
#include <doctest/doctest.h>

#include "changes.hpp"

using namespace kakuri;

namespace {

EntryFacts file(mode_t mode, bool same = false) {
    EntryFacts f;
    f.type = EntryType::File;
    f.mode = mode;
    f.same_data = same;
    return f;
}
EntryFacts of(EntryType t, mode_t mode = 0755) {
    EntryFacts f;
    f.type = t;
    f.mode = mode;
    return f;
}
ChangeKind kind(const EntryFacts& up, const EntryFacts& low, const std::string& path = "p") {
    std::string why;
    return classify_entry(path, up, low, why);
}

}  // namespace

TEST_CASE("changes: what an upper-layer entry means against SRC") {
    const EntryFacts none;
    CHECK(kind(file(0644), none) == ChangeKind::Added);
    CHECK(kind(file(0644), file(0644)) == ChangeKind::Modified);          // other bytes
    CHECK(kind(file(0644, true), file(0644)) == ChangeKind::None);        // copied up, unchanged
    CHECK(kind(file(0755, true), file(0644)) == ChangeKind::Mode);        // chmod only
    CHECK(kind(file(0644), of(EntryType::Dir)) == ChangeKind::Modified);  // a file for a dir
    CHECK(kind(of(EntryType::Dir), none) == ChangeKind::Added);
    CHECK(kind(of(EntryType::Dir, 0700), of(EntryType::Dir, 0755)) == ChangeKind::Mode);
    CHECK(kind(of(EntryType::Dir), of(EntryType::Dir)) == ChangeKind::None);
    CHECK(kind(of(EntryType::Whiteout), file(0644)) == ChangeKind::Deleted);
    CHECK(kind(of(EntryType::Whiteout), of(EntryType::Dir)) == ChangeKind::Deleted);
    CHECK(kind(of(EntryType::Whiteout), none) == ChangeKind::None);  // gone on the host too
    // Only setuid/setgid differ: no change (they are never applied anyway).
    CHECK(kind(file(04755, true), file(0755)) == ChangeKind::None);
}

TEST_CASE("changes: device nodes, fifos, sockets and links leading out are refused") {
    EntryFacts fifo = of(EntryType::Other);
    fifo.other = "a fifo";
    std::string why;
    CHECK(classify_entry("f", fifo, EntryFacts{}, why) == ChangeKind::Refused);
    CHECK(why.find("a fifo") != std::string::npos);
    EntryFacts link = of(EntryType::Symlink);
    for (const char* out : {"/etc/passwd", "../x", "a/../../x", "../../../../etc", ""}) {
        link.link = out;
        CHECK_MESSAGE(kind(link, EntryFacts{}, "f") == ChangeKind::Refused, out);
    }
    link.link = "a.txt";
    CHECK(kind(link, EntryFacts{}, "f") == ChangeKind::Added);
    link.link = "../b";
    CHECK(kind(link, EntryFacts{}, "d/f") == ChangeKind::Added);  // d/../b is b: inside
    EntryFacts host_link = link;
    CHECK(kind(link, host_link, "d/f") == ChangeKind::None);
    host_link.link = "c";
    CHECK(kind(link, host_link, "d/f") == ChangeKind::Modified);
}

TEST_CASE("changes: a symbolic link stays inside when its target does, read lexically") {
    CHECK(link_stays_inside("a", "b"));
    CHECK(link_stays_inside("d/e/f", "../../x"));
    CHECK_FALSE(link_stays_inside("d/e/f", "../../../x"));
    CHECK_FALSE(link_stays_inside("a", "/a"));  // SRC is elsewhere inside a container
    CHECK_FALSE(link_stays_inside("a", ""));
    CHECK(link_stays_inside("a", "./b/./c"));
}

TEST_CASE("changes: a host change at or after the container's write conflicts") {
    CHECK_FALSE(is_conflict(false, 0, 100));  // not on the host: nothing to overwrite
    CHECK_FALSE(is_conflict(true, 99, 100));  // older: the container saw it
    CHECK(is_conflict(true, 100, 100));       // the same clock tick: cannot tell, so conflict
    CHECK(is_conflict(true, 101, 100));
}

TEST_CASE("changes: a meta file round trip, and what it refuses") {
    ChangeMeta m;
    m.id = 7;
    m.src = "/home/a b/proj\nx";
    m.dst = "/p";
    m.created_ns = 1764583200123456789LL;
    m.container = "dev";
    ChangeMeta b = parse_change_meta(format_change_meta(m));
    CHECK(b.id == 7);
    CHECK(b.src == m.src);
    CHECK(b.dst == m.dst);
    CHECK(b.created_ns == m.created_ns);
    CHECK(b.container == "dev");
    CHECK_THROWS_AS(parse_change_meta("version 2\nid 1\nsrc /a\n"), Error);
    CHECK_THROWS_AS(parse_change_meta("version 1\nid 0\nsrc /a\n"), Error);
    CHECK_THROWS_AS(parse_change_meta("version 1\nid 1\nsrc a\n"), Error);
    CHECK_THROWS_AS(parse_change_meta("version 1\nid 1\nsrc /a\nextra 1\n"), Error);
    unsigned id = 0;
    CHECK(parse_change_id("12", id));
    CHECK(id == 12);
    for (const char* bad : {"", "0", "-1", "1x", "1234567890", " 1"})
        CHECK_FALSE(parse_change_id(bad, id));
}

TEST_CASE("changes: a PATH chooses itself and what is below it, either end of a rename") {
    Change c;
    c.kind = ChangeKind::Added;
    c.path = "src/a/b.c";
    CHECK(change_chosen(c, "src"));
    CHECK(change_chosen(c, "src/a/b.c"));
    CHECK(change_chosen(c, ""));  // all
    CHECK_FALSE(change_chosen(c, "sr"));
    CHECK_FALSE(change_chosen(c, "src/a/b"));
    c.kind = ChangeKind::Renamed;
    c.from = "old/x";
    CHECK(change_chosen(c, "old"));
}

TEST_CASE("changes: the listing, a line each, and its JSON") {
    Change a;
    a.kind = ChangeKind::Mode;
    a.path = "run.sh";
    a.old_mode = 0644;
    a.new_mode = 0755;
    Change r;
    r.kind = ChangeKind::Renamed;
    r.from = "a";
    r.path = "b\nc";
    Change d;
    d.kind = ChangeKind::Deleted;
    d.path = "dir";
    d.dir = true;
    CHECK(format_changes({a, r, d}) ==
          "mode      run.sh  0644 -> 0755\nrenamed   a -> b\\nc\ndeleted   dir/\n");
    const std::string j = format_changes_json({a, r});
    CHECK(j.find("\"old_mode\": \"0644\"") != std::string::npos);
    CHECK(j.find("\"path\": \"b\\u000ac\"") != std::string::npos);
    CHECK(format_changes_json({}) == "[]\n");
    // A name from the program: nothing in it drives a terminal, and it stays valid JSON.
    Change e;
    e.kind = ChangeKind::Added;
    e.path = "a\x1b\x7f\xc2\x9b\xe2\x80\xae\xff\xc3\xa9";
    CHECK(format_changes_json({e}).find(
              "\"path\": \"a\\u001b\\u007f\\u009b\\u202e\\udcff\xc3\xa9\"") != std::string::npos);
    CHECK(format_changes({e}) == "added     a\\x1b\\x7f\\xc2\\x9b\\xe2\\x80\\xae\\xff\xc3\xa9\n");
}

TEST_CASE("changes: records a child hands back keep every field, whatever the names hold") {
    Change a;
    a.kind = ChangeKind::Renamed;
    a.path = "new name\nwith %20 and \x1b";
    a.from = "";
    a.dir = true;
    a.old_mode = 0644;
    a.new_mode = 01777;
    a.since_ns = 1764583200123456789LL;
    a.why = "a why";
    Change b;
    b.kind = ChangeKind::Refused;
    b.path = "fifo";
    b.why = "a fifo: never applied";
    const std::vector<Change> back = parse_change_records(format_change_records({a, b}));
    REQUIRE(back.size() == 2);
    CHECK(back[0].kind == a.kind);
    CHECK(back[0].path == a.path);
    CHECK(back[0].from == "");
    CHECK(back[0].dir);
    CHECK(back[0].old_mode == 0644);
    CHECK(back[0].new_mode == 01777);
    CHECK(back[0].since_ns == a.since_ns);
    CHECK(back[0].why == "a why");
    CHECK(back[1].kind == ChangeKind::Refused);
    CHECK(back[1].why == b.why);
    CHECK(parse_change_records("").empty());
    CHECK_THROWS_AS(parse_change_records("9 a % 0 0 0 0 %\n"), Error);
    CHECK_THROWS_AS(parse_change_records("1 a\n"), Error);
}

TEST_CASE("changes: a meta keeps which overlay xattrs and whether subordinate ids are mapped") {
    ChangeMeta m;
    m.id = 3;
    m.src = "/p";
    m.xattrs = "user";
    m.subids = true;
    ChangeMeta b = parse_change_meta(format_change_meta(m));
    CHECK(b.xattrs == "user");
    CHECK(b.subids);
    m.xattrs = "";
    m.subids = false;
    b = parse_change_meta(format_change_meta(m));
    CHECK(b.xattrs == "");
    CHECK_FALSE(b.subids);
    CHECK_THROWS_AS(parse_change_meta("version 1\nid 1\nsrc /a\nxattrs security\n"), Error);
}
