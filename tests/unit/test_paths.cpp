// Unit tests for paths: normalizing, within, ~, parent and base names, components, split.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "paths.hpp"
#include "strings.hpp"

namespace kakuri {

using Strings = std::vector<std::string>;

TEST_CASE("paths: normalize_path") {
    const std::pair<const char*, const char*> rows[] = {
        {"/", "/"},
        {"", "/"},
        {"/usr", "/usr"},
        {"/usr/", "/usr"},
        {"//usr///lib//", "/usr/lib"},
        {"/usr/./lib/.", "/usr/lib"},
        {"/usr/lib/../share", "/usr/share"},
        {"/a/b/c/../../d", "/a/d"},
        {"/..", "/"},
        {"/../../x", "/x"},
        {"/a/..", "/"},
        {"/.", "/"},
        {"/a/.../b", "/a/.../b"},  // "..." is a name
        {"/a/.b/..c", "/a/.b/..c"},
    };
    for (const auto& row : rows) {
        const char* path = row.first;  // CAPTURE is a lambda: no structured binding (clang)
        CAPTURE(path);
        CHECK(normalize_path(path) == row.second);
    }
}

TEST_CASE("paths: path_within respects component boundaries") {
    struct Row {
        const char* path;
        const char* dir;
        bool within;
    };
    const Row rows[] = {
        {"/usr", "/usr", true},
        {"/usr/lib", "/usr", true},
        {"/usr/lib/x/y", "/usr", true},
        {"/usrx", "/usr", false},
        {"/usr2/lib", "/usr", false},
        {"/us", "/usr", false},
        {"/", "/usr", false},
        {"/usr", "/usr/lib", false},
        {"/opt/usr", "/usr", false},
        {"/home/u/p", "/home/u", true},
        {"/home/user", "/home/u", false},
        // Everything is within /.
        {"/", "/", true},
        {"/usr", "/", true},
        {"/a/b/c", "/", true},
    };
    for (const auto& r : rows) {
        CAPTURE(r.path);
        CAPTURE(r.dir);
        CHECK(path_within(r.path, r.dir) == r.within);
    }
}

TEST_CASE("paths: ~ is the caller's home, ~user is a word") {
    struct Row {
        const char* word;
        bool tilde;
        const char* expanded;  // with home /home/u
    };
    const Row rows[] = {
        {"~", true, "/home/u"},         {"~/", true, "/home/u/"},
        {"~/x/y", true, "/home/u/x/y"}, {"~user", false, "~user"},
        {"~user/x", false, "~user/x"},  {"/a/~/b", false, "/a/~/b"},
        {"rel", false, "rel"},          {"", false, ""},
    };
    for (const auto& r : rows) {
        CAPTURE(r.word);
        CHECK(is_tilde_path(r.word) == r.tilde);
        CHECK(expand_tilde(r.word, "/home/u") == r.expanded);
    }
    // Without a home, ~ stays the empty home's: the caller decides what that means.
    CHECK(expand_tilde("~/x", "") == "/x");
}

TEST_CASE("paths: parent_path walks up to / and stops there; base_name") {
    struct Row {
        const char* path;
        const char* parent;
        const char* base;
    };
    const Row rows[] = {
        {"/a/b/c", "/a/b", "c"},
        {"/a/b", "/a", "b"},
        {"/a", "/", "a"},
        {"/", "/", ""},
        // Without a slash (never a path kakuri makes): / as well, so a walk up always ends.
        {"a", "/", "a"},
        {"", "/", ""},
        {"a/b", "a", "b"},
        {"dir/file.tar.gz", "dir", "file.tar.gz"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.path);
        CHECK(parent_path(r.path) == r.parent);
        CHECK(base_name(r.path) == r.base);
    }
    Strings walk;
    for (std::string d = "/home/u/p"; d != "/"; d = parent_path(d)) walk.push_back(d);
    CHECK(walk == Strings{"/home/u/p", "/home/u", "/home"});
}

TEST_CASE("paths: components and joining them again") {
    CHECK(path_components("/usr/lib") == Strings{"usr", "lib"});
    CHECK(path_components("//usr/./lib/") == Strings{"usr", "lib"});
    CHECK(path_components("/a/../b") == Strings{"a", "..", "b"});  // ".." is the caller's
    CHECK(path_components("rel/x") == Strings{"rel", "x"});
    CHECK(path_components("/").empty());
    CHECK(path_components("").empty());
    CHECK(join_components({}) == "/");
    CHECK(join_components({"usr", "lib"}) == "/usr/lib");
    CHECK(join_components(path_components("//a/./b/")) == "/a/b");
}

TEST_CASE("paths: split keeps every field, empty ones too") {
    CHECK(split("/usr/bin:/bin") == Strings{"/usr/bin", "/bin"});
    CHECK(split("") == Strings{""});
    CHECK(split(":") == Strings{"", ""});
    CHECK(split("a::b:") == Strings{"a", "", "b", ""});
    CHECK(split("/a:/b:ro") == Strings{"/a", "/b", "ro"});
    CHECK(split("alice:100000:65536\nbob:1:2", '\n') == Strings{"alice:100000:65536", "bob:1:2"});
    CHECK(split("x", '\n') == Strings{"x"});
}

}  // namespace kakuri
