// Unit tests for capnames: every name and number as libcap has them (it is linked into kakuri for
// caps.cpp, so the test asks it), Docker's default set, ALL, what is refused.
#include <doctest/doctest.h>
#include <sys/capability.h>

#include <cctype>
#include <cstdint>
#include <string>

#include "capnames.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

// libcap's name of capability c without its "cap_", or its number for one libcap does not know.
std::string libcap_name(int c) {
    char* n = cap_to_name(c);
    std::string out = n ? n : "";
    cap_free(n);
    return out.compare(0, 4, "cap_") == 0 ? out.substr(4) : out;
}

}  // namespace

TEST_CASE("capnames: every capability by name and by number, as libcap has it") {
    for (int c = 0; c <= CAP_LAST_CAP; ++c) {
        const std::string name = libcap_name(c);
        CAPTURE(name);
        CHECK(format_caps(1ULL << c) == name);
        CHECK(parse_cap(name) == 1ULL << c);
        CHECK(parse_cap("cap_" + name) == 1ULL << c);
        std::string upper;
        for (char ch : "CAP_" + name) upper += static_cast<char>(std::toupper(ch));
        CHECK(parse_cap(upper) == 1ULL << c);
    }
}

TEST_CASE("capnames: a set is its names in number order, or none") {
    CHECK(format_caps(0) == "none");
    CHECK(format_caps(parse_cap("kill") | parse_cap("chown") | parse_cap("sys_admin")) ==
          "chown,kill,sys_admin");
    CHECK(format_caps(parse_cap("ALL")) == format_caps(parse_cap("all")));
    CHECK(parse_cap("ALL") == (1ULL << (CAP_LAST_CAP + 1)) - 1);
}

TEST_CASE("capnames: Docker's default set") {
    CHECK(format_caps(default_caps()) ==
          "chown,dac_override,fowner,fsetid,kill,setgid,setuid,setpcap,net_bind_service,net_raw,"
          "sys_chroot,mknod,audit_write,setfcap");
}

TEST_CASE("capnames: a name is read as libcap's cap_from_name reads it") {
    // What parse_cap gave when it asked libcap: the mask, or 0 for a refusal.
    auto by_libcap = [](const std::string& name) -> uint64_t {
        std::string n;
        for (char ch : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (n == "all") return (1ULL << (CAP_LAST_CAP + 1)) - 1;
        if (n.compare(0, 4, "cap_") != 0) n = "cap_" + n;
        cap_value_t v;
        if (cap_from_name(n.c_str(), &v) != 0 || v > CAP_LAST_CAP) return 0;
        return 1ULL << v;
    };
    auto ours = [](const std::string& name) -> uint64_t {
        try {
            return parse_cap(name);
        } catch (const Error& e) {
            CHECK(std::string(e.what()) ==
                  "unknown capability '" + name + "' (see capabilities(7))");
            return 0;
        }
    };
    // A name ends where a character that is neither a letter nor '_' starts: "chown,kill" is
    // chown, whatever follows.
    for (const char* name : {"", "cap_", "NOT_A_CAP", "chownx", "cap_41", "41", "cap_all", "all_",
                             " chown", "chown123", "chown-x", "chown ", "chown,kill", "CAP_CHOWN:x",
                             "Sys_Admin", "cap_cap_chown", "ALL", "aLl"}) {
        CAPTURE(name);
        CHECK(ours(name) == by_libcap(name));
    }
    CHECK(ours("chown,kill") == ours("chown"));
    CHECK(ours("chownx") == 0);
}

}  // namespace kakuri
