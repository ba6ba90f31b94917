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

TEST_CASE("one_line and terminal_text escape what a terminal would act on, in any encoding") {
    // C0, DEL, C1 as raw bytes and in UTF-8 (U+009B is CSI), bidirectional overrides.
    CHECK(one_line("a\x1b[2Kb\rc\x7f") == "a\\x1b[2Kb\\x0dc\\x7f");
    CHECK(one_line("\x9b"
                   "31m") == "\\x9b31m");
    CHECK(one_line("\xc2\x9b"
                   "31m") == "\\xc2\\x9b31m");
    CHECK(one_line("x\xe2\x80\xaey\xe2\x81\xa6z") == "x\\xe2\\x80\\xaey\\xe2\\x81\\xa6z");
    // Not UTF-8: a stray byte, an overlong '/', a surrogate, a sequence cut short.
    CHECK(one_line("caf\xe9!") == "caf\\xe9!");
    CHECK(one_line("\xc0\xaf") == "\\xc0\\xaf");
    CHECK(one_line("\xed\xa0\x80") == "\\xed\\xa0\\x80");
    CHECK(one_line("\xe2\x82") == "\\xe2\\x82");
    // Text as it is: UTF-8 letters, emoji, a backslash (one_line), newlines as \n.
    CHECK(one_line("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82 a\\b") ==
          "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82 a\\b");
    CHECK(one_line("a\nb\tc") == "a\\nb\\tc");
    CHECK(shown("a\\b") == "'a\\\\b'");
    // A file's content: its lines and tabs kept, nothing else a terminal acts on.
    CHECK(terminal_text("+line\t1\n\x1b]0;title\x07\n") == "+line\t1\n\\x1b]0;title\\x07\n");
}
