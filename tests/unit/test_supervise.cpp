// Unit tests for supervise: exit statuses as a shell reports them, the framing of a child's
// error pipe, start times, and child and pidfd handles on processes of the test's own.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "supervise.hpp"

using namespace kakuri;

namespace {

// Everything a child would say, fed to a report in pieces of `step` bytes.
ChildReport report_of(const std::string& bytes, size_t step) {
    ChildReport r;
    for (size_t off = 0; off < bytes.size(); off += step)
        r.feed(bytes.data() + off, std::min(step, bytes.size() - off));
    r.close();
    return r;
}

}  // namespace

TEST_CASE("shell_status: N for exit(N), 128 + N for signal N") {
    struct {
        int wait_status, shell;
    } cases[] = {
        {0, 0},         {1 << 8, 1},    {125 << 8, 125}, {255 << 8, 255},
        {SIGKILL, 137}, {SIGTERM, 143}, {SIGINT, 130},   {SIGSEGV | 0x80, 139},
    };
    for (const auto& c : cases) {
        CAPTURE(c.wait_status);
        CHECK(shell_status(c.wait_status) == c.shell);
    }
}

TEST_CASE("frame_error: status, errno, length, then the message as it was") {
    CHECK(frame_error(Error("open /x", ENOENT)) == "E125,2,34:open /x: No such file or directory");
    CHECK(frame_error(Error("sh: command not found", 0, 127)) == "E127,0,21:sh: command not found");
    CHECK(frame_error(Error("")) == "E125,0,0:");
}

TEST_CASE("ChildReport: a framed error comes back with its errno and status, in any pieces") {
    const Error sent("cannot enter the working directory /w", ENOENT, 125);
    for (size_t step : {1, 2, 7, 1000}) {
        CAPTURE(step);
        ChildReport r = report_of(frame_error(sent), step);
        REQUIRE(r.error());
        CHECK(std::string(r.error()->what()) == sent.what());
        CHECK(r.error()->err() == ENOENT);
        CHECK(r.error()->exit_code() == 125);
        CHECK_FALSE(r.ready());
    }
}

TEST_CASE("ChildReport: the readiness byte is never part of a message") {
    SUBCASE("ready alone") {
        ChildReport r = report_of(std::string(1, '\0'), 1);
        CHECK(r.ready());
        CHECK_FALSE(r.error());
    }
    SUBCASE("ready, then the command's error") {
        std::string bytes =
            std::string(1, '\0') + frame_error(Error("x: command not found", 0, 127));
        for (size_t step : {1, 3, 100}) {
            ChildReport r = report_of(bytes, step);
            CHECK(r.ready());
            REQUIRE(r.error());
            CHECK(std::string(r.error()->what()) == "x: command not found");
            CHECK(r.error()->exit_code() == 127);
        }
    }
    SUBCASE("a message holding a NUL and a colon is read by its length") {
        std::string text = std::string("a\0b: c", 6);
        ChildReport r = report_of("E125,0,6:" + text, 2);
        REQUIRE(r.error());
        CHECK(std::string(r.error()->what(), 1) == "a");
        CHECK_FALSE(r.ready());
    }
}

TEST_CASE("ChildReport: readiness is known as soon as its byte came") {
    ChildReport r;
    r.feed("E125,0,5:ab", 11);
    CHECK_FALSE(r.ready());
    r.feed("c", 1);
    CHECK_FALSE(r.ready());
    r.feed("de\0", 3);
    CHECK(r.ready());
    REQUIRE(r.error());
    CHECK(std::string(r.error()->what()) == "abcde");
}

TEST_CASE("ChildReport: several messages are joined; the first one's errno and status stay") {
    ChildReport r = report_of(frame_error(Error("one", EPERM, 126)) + frame_error(Error("two")), 4);
    REQUIRE(r.error());
    CHECK(std::string(r.error()->what()) == "one: Operation not permittedtwo");
    CHECK(r.error()->err() == EPERM);
    CHECK(r.error()->exit_code() == 126);
}

TEST_CASE("ChildReport: a flood is bounded, a frame or plain text alike") {
    const std::string big(20 * ChildReport::kMaxText, 'A');
    for (const std::string& bytes :
         {frame_error(Error("x: " + big, 0, 127)), big, "E127,0,9999999999:" + big}) {
        ChildReport r = report_of(bytes, 4096);
        REQUIRE(r.error());
        CHECK(std::string(r.error()->what()).size() <= ChildReport::kMaxText);
    }
}

TEST_CASE("ChildReport: what is not a whole frame is still said, as plain text") {
    struct {
        std::string bytes, said;
    } cases[] = {
        {"plain words", "plain words"},
        {"Error: not a frame", "Error: not a frame"},
        {"E12", "E12"},                  // a header cut short
        {"E125,0,20:cut sh", "cut sh"},  // a frame cut short: its text so far
        {"E999,0,2:ab", "E999,0,2:ab"},  // no such status
        {"E1,2,x:ab", "E1,2,x:ab"},      // no length
        {"", ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.bytes);
        ChildReport r = report_of(c.bytes, 3);
        if (c.said.empty()) {
            CHECK_FALSE(r.error());
            continue;
        }
        REQUIRE(r.error());
        CHECK(std::string(r.error()->what()) == c.said);
        CHECK(r.error()->exit_code() == 125);
    }
}

TEST_CASE("ChildReport: init's status frame, in any pieces, is no message") {
    for (int code : {0, 7, 126, 137, 255})
        for (size_t step : {1, 2, 5}) {
            CAPTURE(code);
            CAPTURE(step);
            ChildReport r = report_of(frame_error(Error("said first")) + frame_status(code), step);
            REQUIRE(r.status());
            CHECK(*r.status() == code);
            REQUIRE(r.error());
            CHECK(std::string(r.error()->what()) == "said first");
        }
    // The status is init's last word: what comes after it (a frame, text, a frame cut short
    // that swallows it) leaves no status, and kakuri waits for init's real end.
    for (const std::string& after : {frame_error(Error("later")), std::string("text"),
                                     std::string(1, '\0'), std::string("E0,0,3:")})
        for (size_t step : {1, 3}) {
            CAPTURE(after);
            CHECK_FALSE(report_of(frame_status(0) + after, step).status());
        }
    CHECK_FALSE(report_of("E0,0,3:" + frame_status(7), 2).status());
    CHECK(*report_of(frame_status(0) + frame_status(7), 2).status() == 7);
    // Nothing told, or what only looks like it: no status, and the bytes are plain text.
    CHECK_FALSE(report_of(frame_error(Error("x")), 3).status());
    for (const char* bytes : {"X", "X12", "X256;", "X;", "X1234;", "Xylophone"}) {
        CAPTURE(bytes);
        ChildReport r = report_of(bytes, 2);
        CHECK_FALSE(r.status());
        REQUIRE(r.error());
        CHECK(std::string(r.error()->what()) == bytes);
    }
}

TEST_CASE("process_start_time: ours is known, a reaped child's is not") {
    CHECK(process_start_time(getpid()) > 0);
    pid_t p = fork();
    if (p == 0) _exit(0);
    REQUIRE(p > 0);
    int status;
    REQUIRE(waitpid(p, &status, 0) == p);
    CHECK(process_start_time(p) == 0);
}

TEST_CASE("Child: spawn, wait, kill_and_reap") {
    SUBCASE("its status as the shell reports it") {
        Child c = Child::spawn(0, "fork", [] { _exit(7); });
        CHECK(c.wait() == 7);
    }
    SUBCASE("an exception escaping the child is not kakuri's: status 125") {
        Child c = Child::spawn(0, "fork", [] {
            // Quiet: what escapes is said on stderr.
            freopen("/dev/null", "w", stderr);
            throw Error("boom");
        });
        CHECK(c.wait() == 125);
    }
    SUBCASE("killed and reaped: nothing of it is left") {
        Child c = Child::spawn(0, "fork", [] {
            for (;;) pause();
        });
        c.kill_and_reap();
        CHECK(process_start_time(c.pid()) == 0);
        CHECK(waitpid(c.pid(), nullptr, WNOHANG) < 0);
    }
}

TEST_CASE("Pidfd: pinned only while the start time matches") {
    const uint64_t start = process_start_time(getpid());
    Pidfd self(getpid(), start);
    REQUIRE(self);
    CHECK(self.alive());
    CHECK_FALSE(Pidfd(getpid(), start + 1));
    CHECK_FALSE(Pidfd());

    Namespaces recorded = self.namespaces({});
    CHECK(self.namespaces(recorded) == recorded);
    recorded.ino[3] += 1;  // its network namespace, as if it had changed
    CHECK_THROWS_WITH_AS(self.namespaces(recorded),
                         ("pid " + std::to_string(getpid()) +
                          " is not the container's init any more (its net namespace changed)")
                             .c_str(),
                         Error);
}

TEST_CASE("Pidfd: wait_exit sees the process end") {
    Child c = Child::spawn(0, "fork", [] {
        for (;;) pause();
    });
    Pidfd p(c.pid(), process_start_time(c.pid()));
    REQUIRE(p);
    CHECK_FALSE(p.wait_exit(0));
    p.signal(SIGKILL);
    CHECK(p.wait_exit(10));
    CHECK_FALSE(p.alive());
    c.wait();
}
