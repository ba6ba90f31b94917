// sys: owned file descriptors, errno-carrying errors and thin wrappers for the
// syscalls glibc does not wrap (the new mount API, openat2, pivot_root, clone).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace kakuri {

// An error that carries what failed, on what, and errno; printed once at the top.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what, int err = 0, int exit_code = 125);
    // A message that already says everything, errno's text included (one told over a pipe).
    static Error told(const std::string& message, int err, int exit_code);
    // The same error with more said around it ("set up the user namespace: " + what + hint):
    // errno and the exit status stay what they were.
    Error wrap(const std::string& before, const std::string& after = "") const;
    int err() const { return err_; }
    int exit_code() const { return exit_code_; }

private:
    struct Verbatim {};
    Error(Verbatim, const std::string& message, int err, int exit_code);
    int err_;
    int exit_code_;
};

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();

    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// Calls a function at scope exit unless dismissed.
template <class F>
class ScopeGuard {
public:
    explicit ScopeGuard(F f) : f_(std::move(f)) {}
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ~ScopeGuard() {
        if (armed_) f_();
    }
    void dismiss() { armed_ = false; }

private:
    F f_;
    bool armed_ = true;
};

// The length of the UTF-8 sequence at s[i] (1 to 4) and its code point, or 0 when the bytes
// there are not one (a stray byte, an overlong or surrogate form, a sequence cut short).
size_t utf8_at(const std::string& s, size_t i, uint32_t& cp);
// What a terminal would act on rather than show: C0 and C1 controls, DEL, and the
// bidirectional formatting characters that reorder what is shown (CVE-2021-42574).
bool acts_on_terminal(uint32_t cp);

// A value for a message, in single quotes, with control characters (a newline in a path)
// and backslashes escaped: an error stays one line whatever the user typed.
std::string shown(const std::string& value);
// A whole message with its control characters escaped (backslashes kept as they are).
// Escaped as \xNN, byte by byte: C0 and C1 controls (in UTF-8 or as raw bytes), DEL, the
// bidirectional formatting characters, and bytes that are not UTF-8; \n and \t as such.
std::string one_line(const std::string& message);
// Text from someone else (a file's content) made safe to print on a terminal: the same
// escapes as one_line, but newlines and tabs kept as they are.
std::string terminal_text(const std::string& text);
// Seconds since the epoch as UTC, "2026-12-01T01:23:45Z".
std::string iso_time(int64_t t);
// Does s hold a control character (0x00-0x1f, 0x7f)?
bool has_control(const std::string& s);

// "/proc/self/fd/N", for the few calls (mount(2), overlay layers) that take a
// path: the magic link names exactly the inode we opened, not a path re-walked.
std::string fd_path(int fd);

// Throw Error(what, errno) when rc < 0; return rc otherwise.
long check(long rc, const std::string& what);

// Write all of data to a file opened O_WRONLY (e.g. /proc/self/uid_map).
void write_file(const std::string& path, const std::string& data);
// Read a small file whole; empty optional-like result signalled by ok=false.
bool read_file(const std::string& path, std::string& out);
// The rest of an open file, whole; false on a read error (errno says which).
bool read_all(int fd, std::string& out);

// Overwrite every string of this process's environment block with zeros (/proc/self/environ
// then shows none of it). kakuri keeps no other copy of the caller's environment (HostInfo
// holds views into this block): a container's init, a copy of kakuri, calls this first, so
// that the credentials the spec kept out are nowhere in its memory.
void forget_environment();
// Exits with status once the work is done and let go of, without freeing what is left or
// running destructors: stdio flushed, the kernel closes the rest. A forked kakuri would write
// each page it frees again, a fault each (a dozen microseconds on a virtual machine).
[[noreturn]] void exit_now(int status);

// The identities (inode numbers) of a process's seven namespaces, as /proc/PID/ns shows
// them; 0 where unknown. `exec` joins exactly the namespaces the container's init has.
struct Namespaces {
    static constexpr int kCount = 7;
    static const char* const kNames[kCount];  // "user", "mnt", "pid", "net", "uts", "ipc", "cgroup"
    static const int kFlags[kCount];          // CLONE_NEWUSER, ...
    uint64_t ino[kCount] = {};
    bool operator==(const Namespaces& o) const;
};
Namespaces namespaces_of(pid_t pid);  // throws Error when pid is gone

// Raw syscalls.
int sys_open_tree(int dfd, const char* path, unsigned flags);
int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags);
int sys_mount_setattr(int dfd, const char* path, unsigned flags, unsigned long long attr_set,
                      unsigned long long attr_clr);
int sys_fsopen(const char* fsname, unsigned flags);
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux);
int sys_fsmount(int fd, unsigned flags, unsigned attr);
int sys_openat2(int dfd, const char* path, unsigned long long flags, unsigned long long mode,
                unsigned long long resolve);
int sys_pivot_root(const char* new_root, const char* put_old);
int sys_close_range(unsigned first, unsigned last, unsigned flags);
pid_t sys_clone(unsigned long flags);

}  // namespace kakuri
