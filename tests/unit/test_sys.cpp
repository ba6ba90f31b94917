// Unit tests for sys: Error's message, errno and exit status, as made, as told over a pipe and
// as wrapped with more context.
#include <doctest/doctest.h>
#include <errno.h>

#include <string>

#include "sys.hpp"

using namespace kakuri;

TEST_CASE("Error: what failed, then errno's text; status 125 unless said") {
    Error e("open /x", ENOENT);
    CHECK(std::string(e.what()) == "open /x: No such file or directory");
    CHECK(e.err() == ENOENT);
    CHECK(e.exit_code() == 125);
    CHECK(std::string(Error("no errno").what()) == "no errno");
    CHECK(Error("x", 0, 127).exit_code() == 127);
}

TEST_CASE("Error::told keeps the message as it is, with its errno and status") {
    Error e = Error::told("mount /x: Permission denied", EACCES, 126);
    CHECK(std::string(e.what()) == "mount /x: Permission denied");
    CHECK(e.err() == EACCES);
    CHECK(e.exit_code() == 126);
}

TEST_CASE("Error::wrap says more around the message and keeps errno and the status") {
    const Error inner("write /proc/self/uid_map", EPERM, 126);
    SUBCASE("before and after") {
        Error e = inner.wrap("set up the user namespace: ", " (hint)");
        CHECK(
            std::string(e.what()) ==
            "set up the user namespace: write /proc/self/uid_map: Operation not permitted (hint)");
        CHECK(e.err() == EPERM);
        CHECK(e.exit_code() == 126);
    }
    SUBCASE("twice: each wrap around the last") {
        Error e = inner.wrap("b: ").wrap("a: ", "!");
        CHECK(std::string(e.what()) == "a: b: write /proc/self/uid_map: Operation not permitted!");
        CHECK(e.err() == EPERM);
        CHECK(e.exit_code() == 126);
    }
    SUBCASE("nothing added: the same error") {
        Error e = inner.wrap("");
        CHECK(std::string(e.what()) == inner.what());
        CHECK(e.err() == inner.err());
    }
}
