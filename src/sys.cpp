// sys: owned fds, Error, and raw syscall wrappers.
#include "sys.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

extern char** environ;

namespace kakuri {

namespace {
std::string with_errno(const std::string& what, int err) {
    if (err == 0) return what;
    return what + ": " + strerror(err);
}
}  // namespace

Error::Error(const std::string& what, int err, int exit_code)
    : std::runtime_error(with_errno(what, err)), err_(err), exit_code_(exit_code) {}

Error::Error(Verbatim, const std::string& message, int err, int exit_code)
    : std::runtime_error(message), err_(err), exit_code_(exit_code) {}

Error Error::told(const std::string& message, int err, int exit_code) {
    return Error(Verbatim{}, message, err, exit_code);
}

Error Error::wrap(const std::string& before, const std::string& after) const {
    return told(before + what() + after, err_, exit_code_);
}

void forget_environment() {
    // explicit_bzero: the block is never read again, which would let a plain memset go.
    for (char** e = environ; e && *e; ++e) explicit_bzero(*e, strlen(*e));
}

void exit_now(int status) {
    fflush(nullptr);
    _exit(status);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
}

UniqueFd::~UniqueFd() {
    reset();
}

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

// The length of the UTF-8 sequence at s[i] (1 to 4) and its code point, or 0 when the bytes
// there are not one (a stray byte, an overlong or surrogate form, a sequence cut short).
size_t utf8_at(const std::string& s, size_t i, uint32_t& cp) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
        const unsigned char d = static_cast<unsigned char>(s[i + k]);
        if ((d >> 6) != 2) return 0;
        cp = (cp << 6) | (d & 0x3f);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

bool acts_on_terminal(uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

namespace {

std::string escaped(const std::string& text, bool backslash, bool layout) {
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        uint32_t cp = 0;
        size_t n = utf8_at(text, i, cp);
        if (c == '\\' && backslash) {
            out += "\\\\";
        } else if (layout && (c == '\n' || c == '\t')) {
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (n == 0 || acts_on_terminal(cp)) {
            // Each byte of it: a stray byte, or a control in any encoding, shows as \xNN.
            for (size_t k = 0; k < std::max<size_t>(n, 1); ++k) {
                char buf[8];
                snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i + k]));
                out += buf;
            }
        } else {
            out.append(text, i, n);
        }
        i += std::max<size_t>(n, 1);
    }
    return out;
}
}  // namespace

std::string one_line(const std::string& message) {
    return escaped(message, false, false);
}

std::string shown(const std::string& value) {
    return "'" + escaped(value, true, false) + "'";
}

std::string terminal_text(const std::string& text) {
    return escaped(text, false, true);
}

std::string iso_time(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool has_control(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

long check(long rc, const std::string& what) {
    if (rc < 0) throw Error(what, errno);
    return rc;
}

void write_file(const std::string& path, const std::string& data) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw Error("open " + path, errno);
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) throw Error("write " + path, errno);
    if (static_cast<size_t>(n) != data.size()) throw Error("short write to " + path, EIO);
}

bool read_file(const std::string& path, std::string& out) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd && read_all(fd.get(), out);
}

bool read_all(int fd, std::string& out) {
    out.clear();
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) return true;
        out.append(buf, static_cast<size_t>(n));
    }
}

int sys_open_tree(int dfd, const char* path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}

int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
    return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}

int sys_mount_setattr(int dfd, const char* path, unsigned flags, unsigned long long attr_set,
                      unsigned long long attr_clr) {
    struct mount_attr attr {};
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clr;
    return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, &attr, sizeof attr));
}

int sys_fsopen(const char* fsname, unsigned flags) {
    return static_cast<int>(::syscall(SYS_fsopen, fsname, flags));
}

int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
    return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}

int sys_fsmount(int fd, unsigned flags, unsigned attr) {
    return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attr));
}

int sys_openat2(int dfd, const char* path, unsigned long long flags, unsigned long long mode,
                unsigned long long resolve) {
    struct open_how how {};
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    // With RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when a
    // rename or mount anywhere on the system raced with the walk ("..");
    // other containers starting at the same time do exactly that. Try again.
    for (int tries = 0;; ++tries) {
        int fd = static_cast<int>(::syscall(SYS_openat2, dfd, path, &how, sizeof how));
        if (fd >= 0 || errno != EAGAIN || tries == 1000) return fd;
    }
}

int sys_pivot_root(const char* new_root, const char* put_old) {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

int sys_close_range(unsigned first, unsigned last, unsigned flags) {
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

pid_t sys_clone(unsigned long flags) {
    // fork semantics (no new stack): the child continues here with a copy of memory.
    return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}

const char* const Namespaces::kNames[kCount] = {"user", "mnt", "pid",   "net",
                                                "uts",  "ipc", "cgroup"};
const int Namespaces::kFlags[kCount] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,   CLONE_NEWNET,
                                        CLONE_NEWUTS,  CLONE_NEWIPC, CLONE_NEWCGROUP};

bool Namespaces::operator==(const Namespaces& o) const {
    for (int i = 0; i < kCount; ++i)
        if (ino[i] != o.ino[i]) return false;
    return true;
}

Namespaces namespaces_of(pid_t pid) {
    Namespaces n;
    std::string dir = "/proc/" + std::to_string(pid) + "/ns/";
    for (int i = 0; i < Namespaces::kCount; ++i) {
        struct stat st;
        if (stat((dir + Namespaces::kNames[i]).c_str(), &st) != 0)
            throw Error("read the namespaces of process " + std::to_string(pid), errno);
        n.ino[i] = st.st_ino;
    }
    return n;
}

}  // namespace kakuri
