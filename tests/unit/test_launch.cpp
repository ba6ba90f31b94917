// Unit tests for launch: how a run's result becomes kakuri's exit status or its error.
#include <doctest/doctest.h>
#include <errno.h>

#include <string>

#include "launch.hpp"

using namespace kakuri;

TEST_CASE("RunResult::status_or_throw: the status, or the container's error with it") {
    SUBCASE("no error: the command's status") {
        RunResult r;
        r.code = 7;
        CHECK(r.status_or_throw() == 7);
    }
    SUBCASE("an error: thrown as told, errno kept, with the run's status") {
        RunResult r;
        r.code = 127;
        r.error = Error::told("x: command not found", 0, 127);
        try {
            r.status_or_throw();
            FAIL("not thrown");
        } catch (const Error& e) {
            CHECK(std::string(e.what()) == "x: command not found");
            CHECK(e.exit_code() == 127);
        }
        r.code = 125;
        r.error = Error("cannot enter the working directory /w", ENOENT);
        try {
            r.status_or_throw();
            FAIL("not thrown");
        } catch (const Error& e) {
            CHECK(std::string(e.what()) ==
                  "cannot enter the working directory /w: No such file or directory");
            CHECK(e.err() == ENOENT);
            CHECK(e.exit_code() == 125);
        }
    }
    SUBCASE("detached (no status of its own yet): the error's own status") {
        RunResult r;
        r.error = Error("detach from kakuri", EPERM, 125);
        CHECK_THROWS_AS(r.status_or_throw(), Error);
        try {
            r.status_or_throw();
        } catch (const Error& e) {
            CHECK(e.exit_code() == 125);
        }
    }
}
