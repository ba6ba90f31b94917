// supervise: child processes (spawn, reap, signal forwarding, status), the framing of their
// error pipe, and pidfds that pin a running container's init.
#include "supervise.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

namespace kakuri {

namespace {

// Signals kakuri passes on to what it supervises (see ForwardedSignals for the stop signals).
const int kForwarded[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM};

void write_all(int fd, const std::string& data) {
    for (size_t off = 0; off < data.size();) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // nobody reads any more: there is no one else to tell
        off += static_cast<size_t>(n);
    }
}

// "E<status>,<errno>,<length>:" at the start of s: the header's length, or 0 when s does not
// start with a whole, well-formed header.
size_t parse_header(const std::string& s, int& code, int& err, size_t& len) {
    size_t colon = s.find(':');
    if (s.empty() || s[0] != 'E' || colon == std::string::npos) return 0;
    unsigned long long v[3];
    size_t at = 1;
    for (int i = 0; i < 3; ++i) {
        size_t end = at;
        while (end < colon && s[end] >= '0' && s[end] <= '9') ++end;
        if (end == at || end - at > 10 || s[end] != (i < 2 ? ',' : ':')) return 0;
        v[i] = std::stoull(s.substr(at, end - at));
        at = end + 1;
    }
    if (v[0] > 255 || v[1] > 4095) return 0;
    code = static_cast<int>(v[0]);
    err = static_cast<int>(v[1]);
    len = static_cast<size_t>(v[2]);
    return colon + 1;
}

}  // namespace

Pipe make_pipe() {
    int fds[2];
    check(pipe2(fds, O_CLOEXEC), "create a pipe");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

int shell_status(int wait_status) {
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

uint64_t process_start_time(pid_t pid) {
    std::string stat;
    if (!read_file("/proc/" + std::to_string(pid) + "/stat", stat)) return 0;
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream in(stat.substr(paren + 2));
    std::string field;
    // A zombie is gone: a detached init's parent may reap it late, or never.
    char state = paren + 2 < stat.size() ? stat[paren + 2] : '?';
    if (state == 'Z' || state == 'X' || state == 'x') return 0;
    // Fields after the name start at 3 (state); start time is field 22.
    for (int i = 3; i <= 22 && in >> field; ++i)
        if (i == 22) return std::stoull(field);
    return 0;
}

std::string frame_error(const Error& e) {
    const std::string text = e.what();
    return "E" + std::to_string(e.exit_code()) + "," + std::to_string(e.err()) + "," +
           std::to_string(text.size()) + ":" + text;
}

std::string frame_status(int code) {
    return "X" + std::to_string(code & 0xff) + ";";
}

void fail_child(int err_fd, const Error& e) {
    // Without a pipe (a detached container), the message goes to the log.
    write_all(err_fd >= 0 ? err_fd : STDERR_FILENO,
              err_fd >= 0 ? frame_error(e) : "kakuri: " + std::string(e.what()) + "\n");
    _exit(e.exit_code());
}

void await_word(int fd, const std::string& what) {
    char c;
    ssize_t n;
    while ((n = ::read(fd, &c, 1)) < 0 && errno == EINTR) {
    }
    if (n < 0) throw Error(what, errno);
    if (n != 1) throw Error(what + ": no word from kakuri");
}

void ChildReport::feed(const char* data, size_t n) {
    pending_.append(data, n);
    // A frame longer than anything a child says is plain text from here on (said bounds it).
    if (pending_.size() > 4 * kMaxText) {
        said(pending_, 0, 125);
        pending_.clear();
        return;
    }
    while (!pending_.empty()) {
        // Init's status is its last word: anything after it makes it no status.
        status_.reset();
        if (pending_[0] == '\0') {  // readiness, never part of a message
            ready_ = true;
            pending_.erase(0, 1);
            continue;
        }
        if (pending_[0] == 'X') {  // the status: "X<0-255>;"
            size_t end = 1;
            while (end < pending_.size() && end < 4 && pending_[end] >= '0' && pending_[end] <= '9')
                ++end;
            if (end == pending_.size()) return;  // still coming (at most 3 digits)
            if (end > 1 && end < pending_.size() && pending_[end] == ';' &&
                std::stoi(pending_.substr(1, end - 1)) <= 255) {
                status_ = std::stoi(pending_.substr(1, end - 1));
                pending_.erase(0, end + 1);
                continue;
            }
        }
        int code = 125, err = 0;
        size_t len = 0, head = parse_header(pending_, code, err, len);
        if (head == 0 && pending_[0] == 'E' && pending_.find(':') == std::string::npos &&
            pending_.size() < 40)
            return;  // a header still coming
        if (head == 0) {
            // Not a frame of ours: plain text, up to a readiness byte.
            size_t end = std::min(pending_.find('\0'), pending_.size());
            said(pending_.substr(0, end), 0, 125);
            pending_.erase(0, end);
            continue;
        }
        if (pending_.size() - head < len) return;  // the rest of its text is still coming
        said(pending_.substr(head, len), err, code);
        pending_.erase(0, head + len);
    }
}

void ChildReport::said(const std::string& text, int err, int code) {
    if (!said_) {
        err_ = err;
        code_ = code;
        said_ = true;
    }
    // A child says one line or a few; more than this is not a message but a flood.
    const size_t room = kMaxText > text_.size() ? kMaxText - text_.size() : 0;
    text_ += text.substr(0, room);
}

bool ChildReport::read_some(int fd) {
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) feed(buf, static_cast<size_t>(n));
    return n > 0 || (n < 0 && errno == EINTR);
}

void ChildReport::read_to_end(int fd) {
    while (read_some(fd)) {
    }
    close();
}

void ChildReport::close() {
    // A frame cut short (its writer killed midway): what came of its text is still said.
    int code = 125, err = 0;
    size_t len = 0, head = parse_header(pending_, code, err, len);
    if (!pending_.empty()) status_.reset();
    std::string rest = pending_.substr(head);
    rest.erase(std::remove(rest.begin(), rest.end(), '\0'), rest.end());
    if (!rest.empty()) said(rest, err, code);
    pending_.clear();
}

std::optional<Error> ChildReport::error() const {
    if (text_.empty()) return std::nullopt;
    return Error::told(text_, err_, code_);
}

ForwardedSignals::ForwardedSignals() {
    sigset_t fwd;
    sigemptyset(&fwd);
    for (int sig : kForwarded) sigaddset(&fwd, sig);
    sigaddset(&fwd, SIGCHLD);
    sigprocmask(SIG_BLOCK, &fwd, &caller_mask_);
    fd_.reset(signalfd(-1, &fwd, SFD_CLOEXEC));
    if (!fd_) {
        int err = errno;
        sigprocmask(SIG_SETMASK, &caller_mask_, nullptr);
        throw Error("create a signalfd", err);
    }
}

ForwardedSignals::~ForwardedSignals() {
    sigprocmask(SIG_SETMASK, &caller_mask_, nullptr);
}

Child Child::spawn(unsigned long flags, const std::string& what,
                   const std::function<void()>& child_main) {
    pid_t pid = flags ? sys_clone(flags) : fork();
    if (pid < 0) throw Error(what, errno);
    if (pid > 0) return Child(pid);
    // Never back into kakuri's own code: this process is not kakuri.
    try {
        child_main();
    } catch (const std::exception& e) {
        write_all(STDERR_FILENO, "kakuri: " + one_line(e.what()) + "\n");
    }
    _exit(125);
}

void Child::kill_and_reap() {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

int Child::wait() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    return shell_status(status);
}

std::optional<int> Child::forward_until_exit(const ForwardedSignals& sigs, Watch& watch) {
    for (;;) {
        struct pollfd pfds[1 + Watch::kMaxFds] = {{sigs.fd(), POLLIN, 0}};
        int n = watch.poll_fds(&pfds[1]);
        if (poll(pfds, static_cast<nfds_t>(1 + n), -1) < 0) {
            if (errno == EINTR) continue;
            throw Error("poll", errno);
        }
        if (!watch.on_ready(&pfds[1], n)) return std::nullopt;
        if (std::optional<int> told = watch.ended()) return told;
        if (!pfds[0].revents) continue;
        struct signalfd_siginfo si;
        ssize_t r = ::read(sigs.fd(), &si, sizeof si);
        if (r < 0 && errno == EINTR) continue;
        if (r != sizeof si) throw Error("read signals", r < 0 ? errno : EIO);
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
            int status;
            if (waitpid(pid_, &status, WNOHANG) == pid_) return shell_status(status);
        } else if (!watch.take_signal(sig)) {
            kill(pid_, sig);
        }
    }
}

Pidfd::Pidfd(pid_t pid, uint64_t start_time)
    : pid_(pid), fd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {
    // Opened first, then checked: from here on the pid cannot go to another process.
    if (fd_ && process_start_time(pid) != start_time) fd_.reset();
}

Namespaces Pidfd::namespaces(const Namespaces& recorded) const {
    const Namespaces now = namespaces_of(pid_);
    for (int i = 0; i < Namespaces::kCount; ++i)
        if (recorded.ino[i] && recorded.ino[i] != now.ino[i])
            throw Error("pid " + std::to_string(pid_) +
                        " is not the container's init any more (its " + Namespaces::kNames[i] +
                        " namespace changed)");
    return now;
}

bool Pidfd::alive() const {
    struct pollfd p = {fd_.get(), POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

void Pidfd::signal(int sig) const {
    ::syscall(SYS_pidfd_send_signal, fd_.get(), sig, nullptr, 0);
}

bool Pidfd::wait_exit(int timeout_s) const {
    struct pollfd p = {fd_.get(), POLLIN, 0};
    for (;;) {
        int r = poll(&p, 1, timeout_s * 1000);
        if (r < 0 && errno == EINTR) continue;
        return r > 0;
    }
}

void hold_until_exit(int pidfd, int lock) {
    pid_t t = fork();
    if (t < 0) throw Error("fork the holder of the container's image", errno);
    if (t == 0) {
        pid_t h = fork();
        if (h != 0) _exit(h < 0 ? 1 : 0);
        setsid();
        int p = fcntl(pidfd, F_DUPFD_CLOEXEC, 100), l = fcntl(lock, F_DUPFD_CLOEXEC, 100);
        if (p < 0 || l < 0 || dup3(p, 3, O_CLOEXEC) < 0 || dup3(l, 4, O_CLOEXEC) < 0) _exit(1);
        sys_close_range(5, ~0U, 0);
        int null = ::open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; ++i) dup2(null, i);
        if (null > 2) ::close(null);
        if (chdir("/") != 0) _exit(1);
        prctl(PR_SET_NAME, "kakuri-hold", 0, 0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        struct pollfd pfd = {3, POLLIN, 0};
        while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    int status = 0;
    while (waitpid(t, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error("fork the holder of the container's image", EAGAIN);
}

}  // namespace kakuri
