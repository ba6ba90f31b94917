// Unit tests for options: a bind as written, taken apart (split_bind), which --bind and a
// config's bind lists both go through.
#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "options.hpp"

namespace kakuri {

TEST_CASE("options: split_bind takes SRC[:DST][:ro|:rw] apart, nothing expanded") {
    struct Row {
        const char* text;
        const char* src;
        const char* dst;
        const char* mode;
    };
    const Row rows[] = {
        {"/data", "/data", "", ""},
        {"/data:/mnt", "/data", "/mnt", ""},
        {"/data:ro", "/data", "", "ro"},
        {"/data:rw", "/data", "", "rw"},
        {"/data:/mnt:ro", "/data", "/mnt", "ro"},
        {"~/src:~/dst:rw", "~/src", "~/dst", "rw"},
        {"rel:dst", "rel", "dst", ""},  // the caller decides what a relative path means
        {"ro", "ro", "", ""},           // one field: a path, whatever it is called
        {"ro:ro", "ro", "", "ro"},
        {"/a:RO", "/a", "RO", ""},  // the mode is lower case: RO is a destination
    };
    for (const Row& r : rows) {
        CAPTURE(r.text);
        const BindText t = split_bind(r.text);
        CHECK(t.well_formed);
        CHECK(t.src == r.src);
        CHECK(t.dst == r.dst);
        CHECK(t.mode == r.mode);
    }
}

TEST_CASE("options: split_bind refuses other shapes, and still says the mode they end with") {
    const std::pair<const char*, const char*> rows[] = {
        {"", ""},
        {":", ""},
        {":/mnt", ""},
        {"/a:", ""},
        {"/a::ro", "ro"},
        {":ro", "ro"},
        {"/a:/b:/c", ""},
        {"/a:/b:/c:rw", "rw"},
        {"/a:/b:ro:rw", "rw"},
        {"::", ""},
    };
    for (const auto& row : rows) {
        const char* text = row.first;  // CAPTURE is a lambda: no structured binding (clang)
        CAPTURE(text);
        const BindText t = split_bind(text);
        CHECK_FALSE(t.well_formed);
        CHECK(t.mode == row.second);
    }
}

}  // namespace kakuri
