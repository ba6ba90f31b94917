// logfile: a detached container's output log on disk — appending within a bound (the part
// before kept in log.1), its section lines, reading it back while it grows and rotates — and
// the record of how a run ended, which the same init writes.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace kakuri {

// A detached container's log as its init holds it: files kakuri opened in the container's
// directory before the clone (init cannot see that directory, so it cannot rename).
struct LogFds {
    int log = -1;      // containers_dir/NAME/log, read-write, O_APPEND
    int prev = -1;     // containers_dir/NAME/log.1, read-write: the part before log's
    int exit = -1;     // containers_dir/NAME/exit, read-write: how the run ended
    uint64_t max = 0;  // [storage] log_max_size
    bool open() const { return log >= 0; }
};

// Appends data to the log. Before the log would grow past f.max, its content is copied over
// log.1 and the log emptied (a write of more than f.max is split), so the two never hold more
// than twice f.max. Best effort: what cannot be written (a full disk) is dropped.
void log_append(const LogFds& f, const char* data, size_t n);
inline void log_append(const LogFds& f, const std::string& s) {
    log_append(f, s.data(), s.size());
}

// How the last run ended: written by kakuri for a foreground start (and by stop when it had
// to kill), by the container's init for a detached one, through a file kakuri opened for it.
// What a container can reach, it can write: a claim about itself, parsed as such.
struct ExitRecord {
    int status = -1;       // kakuri's exit status for it: N, or 128+N for signal N
    int64_t finished = 0;  // seconds since the epoch
};
std::string format_exit(const ExitRecord& e);
bool parse_exit(const std::string& text, ExitRecord& out);  // false: not a whole record

std::string log_started_line(int64_t t);             // "--- kakuri: started 2026-...Z ---\n"
std::string log_exited_line(int status, int64_t t);  // "--- kakuri: exited (N) 2026-...Z ---\n"

// Where a reader of the log is: how far into log, and log.1 as it was when last looked at
// (it changes only when the log rotates).
struct LogCursor {
    uint64_t offset = 0;
    bool seen_prev = false;
    struct stat prev {};
};

// Writes what the log gained since the cursor to out (after a rotation, the rest of the old
// log first, from log.1) and moves the cursor. The first call writes log.1 and the log whole.
// Either fd may be -1 (no such file yet). False when out cannot be written to (a closed pipe).
// A reader misses output only when more than log_max_size is written between two calls.
bool log_catch_up(int log, int prev, LogCursor& c, int out);

}  // namespace kakuri
