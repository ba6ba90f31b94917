// Unit tests for leftovers: what a program left in places that vanish, on real directories,
// and the one line that says so.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "leftovers.hpp"
#include "scratch.hpp"

namespace kakuri {

namespace {

// A scratch directory whose paths the tests name relative to it.
struct Dir : Scratch {
    const std::string& path = dir;
    Dir() : Scratch("leftovers") {}
    std::string mkdir(const std::string& rel) const { return Scratch::mkdir(rel); }
    std::string file(const std::string& rel, const std::string& text = "x") const {
        return Scratch::file(rel, 0644, text);
    }
};

std::string found(const Leftovers& l) {
    std::string out;
    for (const auto& i : l.items)
        out += (out.empty() ? "" : " ") +
               (i.path == i.place ? i.path.substr(i.path.rfind('/') + 1)
                                  : i.path.substr(i.place.size() + 1)) +
               (i.changed ? "(changed)" : "") + (i.noise ? "(noise)" : "");
    return out;
}

}  // namespace

TEST_CASE("leftovers: nothing written, nothing found") {
    Dir d;
    d.mkdir("home");
    d.mkdir("home/.local");  // made for a mount below it, before the command
    Snapshot s = take_snapshot({d.path + "/home"}, {});
    Leftovers l = find_leftovers(s);
    CHECK(l.items.empty());
    CHECK_FALSE(l.more);
    CHECK(format_leftovers(l, true) == "");
}

TEST_CASE("leftovers: new files and directories, once each, names sorted") {
    Dir d;
    const std::string home = d.mkdir("home");
    d.mkdir("home/.local");
    Snapshot s = take_snapshot({home}, {});
    d.file("home/app");
    d.mkdir("home/.venv");
    d.mkdir("home/.venv/bin");
    d.file("home/.venv/bin/python");
    d.mkdir("home/.local/share");
    d.file("home/.bash_history");
    Leftovers l = find_leftovers(s);
    CHECK(found(l) == ".bash_history(noise) .local/share/(noise) .venv/ app");
    CHECK(format_leftovers(l, false) == "kakuri: note: discarded 2 new files in " + home +
                                            ": .venv/, app (use --bind DIR to keep them)\n");
    CHECK(format_leftovers(l, true) ==
          "kakuri: note: discarded 4 new files in " + home +
              ": .bash_history, .local/share/, .venv/, app (use --bind DIR to keep them)\n");
}

TEST_CASE("leftovers: only noise is nothing to say, unless -v") {
    Dir d;
    const std::string home = d.mkdir("home");
    Snapshot s = take_snapshot({home}, {});
    d.mkdir("home/.cache");
    d.file("home/.python_history");
    Leftovers l = find_leftovers(s);
    CHECK(format_leftovers(l, false) == "");
    CHECK(format_leftovers(l, true) != "");
}

TEST_CASE("leftovers: a named path, new or changed; several places give full paths") {
    Dir d;
    const std::string home = d.mkdir("home");
    const std::string old = d.file("old.txt", "before");
    const std::string out = d.path + "/a.out";
    const std::string same = d.file("same.txt");
    Snapshot s = take_snapshot({home}, {out, old, same});
    d.file("a.out");
    {
        // Another second of mtime is not needed: nanoseconds differ, or the size write does.
        std::ofstream(old, std::ios::app) << "after";
        struct timespec t[2] = {{0, UTIME_OMIT}, {12345, 0}};
        REQUIRE(utimensat(AT_FDCWD, old.c_str(), t, 0) == 0);
    }
    d.file("home/x");
    Leftovers l = find_leftovers(s);
    CHECK(found(l) == "x a.out old.txt(changed)");
    CHECK(format_leftovers(l, false) == "kakuri: note: discarded 3 new or changed files: " + home +
                                            "/x, " + out + ", " + old +
                                            " (use --bind DIR to keep them)\n");
}

TEST_CASE("leftovers: a link is listed, never followed; a mount below is not walked") {
    Dir d;
    const std::string home = d.mkdir("home");
    Snapshot s = take_snapshot({home}, {});
    REQUIRE(symlink("/etc", (home + "/etc").c_str()) == 0);
    Leftovers l = find_leftovers(s);
    CHECK(found(l) == "etc");  // the link itself, not /etc's files
}

TEST_CASE("leftovers: the walk is bounded, and says there is more") {
    Dir d;
    const std::string home = d.mkdir("home");
    Snapshot s = take_snapshot({home}, {});
    for (int i = 0; i < 30; ++i) d.file("home/f" + std::to_string(100 + i));
    Leftovers l = find_leftovers(s, WalkLimits{10, 32});
    CHECK(l.items.size() == 10);
    CHECK(l.more);
    // Which ten were read first is the directory's order: the line says how many, and more.
    const std::string note = format_leftovers(l, false, 3);
    CHECK(note.rfind("kakuri: note: discarded 10+ new files in " + home + ": f1", 0) == 0);
    CHECK(note.find(" and 7 more (use --bind DIR to keep them)\n") != std::string::npos);
    // Deep trees stop at the depth limit too.
    std::string p = "home/deep";
    d.mkdir(p);
    Snapshot s2 = take_snapshot({home + "/deep"}, {}, WalkLimits{100, 2});
    for (int i = 0; i < 5; ++i) d.mkdir(p += "/d");
    CHECK(find_leftovers(s2, WalkLimits{100, 2}).items.size() == 1);  // d/, counted whole
}

TEST_CASE("leftovers: a place put in place of the place is not walked") {
    Dir d;
    const std::string home = d.mkdir("home");
    Snapshot s = take_snapshot({home}, {});
    d.file("home/kept");
    REQUIRE(rename(home.c_str(), (d.path + "/moved").c_str()) == 0);
    d.mkdir("home");
    d.file("home/decoy");
    CHECK(find_leftovers(s).items.empty());
    // Nor a link there.
    REQUIRE(rmdir(home.c_str()) != 0);
    Dir e;
    const std::string h2 = e.mkdir("home");
    Snapshot s2 = take_snapshot({h2}, {});
    REQUIRE(rename(h2.c_str(), (e.path + "/real").c_str()) == 0);
    REQUIRE(symlink("real", h2.c_str()) == 0);
    e.file("real/new");
    CHECK(find_leftovers(s2).items.empty());
}

TEST_CASE("leftovers: noise") {
    for (const char* n : {".cache", ".bash_history", ".python_history", ".lesshst", "__pycache__",
                          ".pytest_cache", ".config", ".local"})
        CHECK(is_noise(n));
    for (const char* n : {"app", ".venv", "history", "build", ".env", "out.txt"})
        CHECK_FALSE(is_noise(n));
}

}  // namespace kakuri
