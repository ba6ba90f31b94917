// Unit tests for logfile: the log's bound (rotation into log.1), its section lines, and a
// reader that follows it across rotations.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "logfile.hpp"
#include "scratch.hpp"
#include "sys.hpp"

using namespace kakuri;

namespace {

// log, log.1 and a file standing for the reader's stdout, in a scratch directory.
struct Files {
    Scratch scratch{"logfile"};
    UniqueFd log, prev, out;
    Files() {
        const std::string& dir = scratch.dir;
        log.reset(::open((dir + "/log").c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
        prev.reset(::open((dir + "/log.1").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        out.reset(::open((dir + "/out").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        REQUIRE((log && prev && out));
    }
    LogFds fds(uint64_t max) const { return {log.get(), prev.get(), -1, max}; }
    static std::string read(int fd) {
        std::string s;
        char buf[4096];
        for (off_t off = 0;;) {
            ssize_t n = pread(fd, buf, sizeof buf, off);
            if (n <= 0) return s;
            s.append(buf, static_cast<size_t>(n));
            off += n;
        }
    }
    std::string shown() const { return read(out.get()); }
};

}  // namespace

TEST_CASE("logfile: section lines") {
    CHECK(log_started_line(1796090809) == "--- kakuri: started 2026-12-01T02:06:49Z ---\n");
    CHECK(log_exited_line(137, 0) == "--- kakuri: exited (137) 1970-01-01T00:00:00Z ---\n");
}

TEST_CASE("logfile: the log never grows past its bound; the part before is in log.1") {
    Files f;
    const LogFds fds = f.fds(1024);
    std::string all;
    for (int i = 1; i <= 400; ++i) {
        std::string l = "line " + std::to_string(i) + "\n";
        log_append(fds, l);
        all += l;
        struct stat a, b;
        REQUIRE(fstat(f.log.get(), &a) == 0);
        REQUIRE(fstat(f.prev.get(), &b) == 0);
        CHECK(a.st_size <= 1024);
        CHECK(b.st_size <= 1024);
    }
    // Whole writes were never split: log.1 then log is the tail of what was written, in order.
    std::string kept = Files::read(f.prev.get()) + Files::read(f.log.get());
    CHECK(kept.size() > 1024);
    CHECK(all.compare(all.size() - kept.size(), kept.size(), kept) == 0);
    CHECK(kept.rfind("line ", 0) == 0);
    // A single write larger than the bound is cut into pieces of the bound.
    std::string big(2500, 'x');
    log_append(fds, big);
    CHECK(Files::read(f.log.get()) == std::string(2500 - 2048, 'x'));
    CHECK(Files::read(f.prev.get()) == std::string(1024, 'x'));
}

TEST_CASE("logfile: a reader sees everything once, across rotations between its reads") {
    Files f;
    const LogFds fds = f.fds(1024);
    LogCursor c;
    std::string all;
    for (int i = 1; i <= 300; ++i) {
        std::string l = "line " + std::to_string(i) + "\n";
        log_append(fds, l);
        all += l;
        // A look after every few writes: at most one rotation in between.
        if (i % 7 == 0) REQUIRE(log_catch_up(f.log.get(), f.prev.get(), c, f.out.get()));
    }
    REQUIRE(log_catch_up(f.log.get(), f.prev.get(), c, f.out.get()));
    CHECK(f.shown() == all);
    // Nothing new: nothing more.
    REQUIRE(log_catch_up(f.log.get(), f.prev.get(), c, f.out.get()));
    CHECK(f.shown() == all);
}

TEST_CASE("logfile: a reader's first look shows log.1 then the log; missing files are empty") {
    Files f;
    const LogFds fds = f.fds(1024);
    for (int i = 1; i <= 200; ++i) log_append(fds, "line " + std::to_string(i) + "\n");
    LogCursor c;
    REQUIRE(log_catch_up(f.log.get(), f.prev.get(), c, f.out.get()));
    std::string shown = f.shown();
    CHECK(shown == Files::read(f.prev.get()) + Files::read(f.log.get()));
    CHECK(shown.size() > 1024);
    CHECK(shown.compare(shown.size() - 9, 9, "line 200\n") == 0);
    LogCursor none;
    CHECK(log_catch_up(-1, -1, none, f.out.get()));
    CHECK(f.shown() == shown);
}

TEST_CASE("logfile: a rotation is seen even when log.1 looks the same (coarse times, one size)") {
    Files f;
    const LogFds fds = f.fds(1024);
    // Lines of one length: every rotation leaves log.1 of the same size, within one tick.
    std::string all;
    LogCursor c;
    int n = 0;
    auto write_lines = [&](int count) {
        for (int i = 0; i < count; ++i, ++n) {
            char line[16];
            snprintf(line, sizeof line, "line %04d\n", n);
            log_append(fds, line);
            all += line;
        }
    };
    write_lines(150);  // a rotation: log.1 of 1020 bytes
    REQUIRE(log_catch_up(f.log.get(), f.prev.get(), c, f.out.get()));
    // Another rotation, log.1 as large again; then a write or two: the log is shorter than
    // what was read of it.
    write_lines(100);
    REQUIRE(log_catch_up(f.log.get(), f.prev.get(), c, f.out.get()));
    write_lines(100);
    REQUIRE(log_catch_up(f.log.get(), f.prev.get(), c, f.out.get()));
    CHECK(f.shown() == all);
}
