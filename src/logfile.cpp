// logfile: the bounded log of a detached container.
//
// The container's init appends what its command writes (it relays the command's stdout and
// stderr from a pipe); it holds only the files, never their directory, so a rotation copies
// the log over log.1 and then empties the log, both through the fds kakuri opened for it.
// Readers go by offsets into the log and notice a rotation by log.1 changing.
#include "logfile.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "sys.hpp"

namespace kakuri {

namespace {

// The whole of v as a number; throws std::exception when it is not one.
int64_t whole_number(const std::string& v) {
    size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
}

bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

// log.1 := the log's first size bytes; then the log is emptied (its O_APPEND writes start
// over at 0). The log is emptied even when log.1 cannot be written: the bound comes first.
void rotate(const LogFds& f, uint64_t size) {
    if (f.prev >= 0 && ftruncate(f.prev, 0) == 0) {
        loff_t in = 0, out = 0;
        while (static_cast<uint64_t>(in) < size) {
            ssize_t n = copy_file_range(f.log, &in, f.prev, &out, size - in, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0) continue;
            if (n == 0) break;
            // Not between these two files (another file system, an old kernel): by hand.
            char buf[65536];
            while (static_cast<uint64_t>(in) < size) {
                ssize_t r = pread(f.log, buf, std::min<uint64_t>(sizeof buf, size - in), in);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0 || pwrite(f.prev, buf, static_cast<size_t>(r), out) != r) break;
                in += r;
                out += r;
            }
            break;
        }
    }
    while (ftruncate(f.log, 0) != 0 && errno == EINTR) {
    }
}

bool same(const struct stat& a, const struct stat& b) {
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// fd from offset to its end, to out. False when out cannot be written to.
bool copy_from(int fd, uint64_t offset, int out) {
    char buf[65536];
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, static_cast<off_t>(offset));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return true;
        if (!write_all(out, buf, static_cast<size_t>(r))) return false;
        offset += static_cast<uint64_t>(r);
    }
}

}  // namespace

void log_append(const LogFds& f, const char* data, size_t n) {
    if (!f.open()) return;
    const uint64_t max = std::max<uint64_t>(f.max, 1024);  // a section line fits
    while (n > 0) {
        struct stat st;
        if (fstat(f.log, &st) != 0) return;
        uint64_t size = static_cast<uint64_t>(st.st_size);
        if (size > 0 && (size >= max || n > max - size)) {
            rotate(f, size);
            size = 0;
        }
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, max - size));
        if (!write_all(f.log, data, chunk)) return;
        data += chunk;
        n -= chunk;
    }
}

std::string format_exit(const ExitRecord& e) {
    return "kakuri-exit 1\nstatus " + std::to_string(e.status) + "\nfinished " +
           std::to_string(e.finished) + "\n";
}

bool parse_exit(const std::string& text, ExitRecord& out) {
    ExitRecord e;
    bool status = false, finished = false;
    std::istringstream in(text);
    bool head = false;
    try {
        for (std::string line; std::getline(in, line);) {
            if (line.empty()) continue;
            size_t sp = line.find(' ');
            std::string k = line.substr(0, sp);
            std::string v = sp == std::string::npos ? "" : line.substr(sp + 1);
            if (!head && (k != "kakuri-exit" || v != "1")) return false;
            head = true;
            if (k == "status") {
                int64_t n = whole_number(v);
                if (n < 0 || n > 255) return false;
                e.status = static_cast<int>(n);
                status = true;
            } else if (k == "finished") {
                e.finished = whole_number(v);
                finished = e.finished >= 0;
            }
        }
    } catch (const std::exception&) {
        return false;
    }
    if (!status || !finished) return false;
    out = e;
    return true;
}

std::string log_started_line(int64_t t) {
    return "--- kakuri: started " + iso_time(t) + " ---\n";
}

std::string log_exited_line(int status, int64_t t) {
    return "--- kakuri: exited (" + std::to_string(status) + ") " + iso_time(t) + " ---\n";
}

bool log_catch_up(int log, int prev, LogCursor& c, int out) {
    const size_t kChunk = 1 << 20;
    std::vector<char> buf;
    // A few rounds at most: each one that saw a rotation starts over from log.1.
    for (int round = 0; round < 8; ++round) {
        struct stat before {
        }, ls{};
        const bool have_prev = prev >= 0 && fstat(prev, &before) == 0;
        const bool have_log = log >= 0 && fstat(log, &ls) == 0;
        if (!c.seen_prev) {
            if (have_prev && !copy_from(prev, 0, out)) return false;
            c.offset = 0;
        } else if ((have_prev && !same(c.prev, before)) ||
                   (have_log && static_cast<uint64_t>(ls.st_size) < c.offset)) {
            // Rotated since the last look (log.1 rewritten; the log, which only init empties,
            // shorter than what was read of it): log.1 holds the log read so far, its rest
            // first. (log.1's times may be too coarse to tell two rotations apart: the log's
            // size tells it unless it grew past the offset again, more than log_max_size later.)
            if (have_prev && !copy_from(prev, c.offset, out)) return false;
            c.offset = 0;
        }
        c.seen_prev = true;
        c.prev = before;
        if (!have_log) return true;
        // The log, a chunk at a time, each kept only if it was not rotated meanwhile: if it
        // was, the chunk may be of the emptied log, and the next round reads from log.1.
        bool rotated = false;
        for (;;) {
            buf.resize(kChunk);
            ssize_t r = pread(log, buf.data(), kChunk, static_cast<off_t>(c.offset));
            if (r < 0 && errno == EINTR) continue;
            struct stat after {
            }, now{};
            const uint64_t end = c.offset + static_cast<uint64_t>(r > 0 ? r : 0);
            if ((have_prev && (fstat(prev, &after) != 0 || !same(before, after))) ||
                (fstat(log, &now) == 0 && static_cast<uint64_t>(now.st_size) < end)) {
                rotated = true;
                break;
            }
            if (r <= 0) return true;
            if (!write_all(out, buf.data(), static_cast<size_t>(r))) return false;
            c.offset = end;
        }
        if (!rotated) return true;
    }
    return true;
}

}  // namespace kakuri
