// supervise: the processes kakuri makes and watches: a child handle (spawn, kill and reap,
// signals passed on until it exits, its status as a shell reports it), what a child tells
// over its error pipe, and a pidfd handle that pins a running container's init.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "sys.hpp"

namespace kakuri {

// A pipe between kakuri and a child, both ends close-on-exec.
struct Pipe {
    UniqueFd r, w;
};
Pipe make_pipe();

// The status a shell reports for a wait status: N for exit(N), 128 + N for signal N.
int shell_status(int wait_status);

// /proc/PID/stat's start time (field 22), which tells a process from a later one with the
// same pid; 0 when it is gone (or a zombie).
uint64_t process_start_time(pid_t pid);

// A child's error pipe carries framed messages, each an Error with its errno and exit status,
// and init's readiness byte (NUL) between them.
std::string frame_error(const Error& e);

// Init's last word: the command's status (0-255), framed.
std::string frame_status(int code);

// The child's side: e framed on err_fd (without one, "kakuri: ..." on stderr), then exit with
// e's status.
[[noreturn]] void fail_child(int err_fd, const Error& e);

// Waits for kakuri's one-byte word on fd. End of file instead means kakuri failed (and says
// so itself) or is gone: thrown as Error(what: no word from kakuri).
void await_word(int fd, const std::string& what);

// What a child said on its error pipe, as it comes in.
class ChildReport {
public:
    void feed(const char* data, size_t n);
    // Reads once from fd (EINTR retried); false at its end or on an error.
    bool read_some(int fd);
    void read_to_end(int fd);
    // The end came: a frame cut short is kept as plain text.
    void close();
    bool ready() const { return ready_; }
    // The command's status, told by init as its last act (frame_status), if it was.
    std::optional<int> status() const { return status_; }
    // Every message so far as one Error (texts joined, the first one's errno and status).
    std::optional<Error> error() const;

    // At most this much of what a child says is kept (the rest of a flood is dropped).
    static constexpr size_t kMaxText = 4096;

private:
    void said(const std::string& text, int err, int code);
    std::optional<int> status_;
    std::string pending_;  // bytes not yet a whole frame
    std::string text_;
    int err_ = 0, code_ = 125;
    bool said_ = false, ready_ = false;
};

// The signals kakuri passes on, blocked and read from a signalfd while this lives; the
// caller's mask is what a command gets back. Stop signals are not among them: Ctrl-Z stops
// kakuri together with the command (same process group), so the caller's shell sees its job
// stop and `fg` resumes both.
class ForwardedSignals {
public:
    ForwardedSignals();
    ~ForwardedSignals();
    ForwardedSignals(const ForwardedSignals&) = delete;
    ForwardedSignals& operator=(const ForwardedSignals&) = delete;
    const sigset_t& caller_mask() const { return caller_mask_; }
    int fd() const { return fd_.get(); }
    void close_in_child() { fd_.reset(); }

private:
    sigset_t caller_mask_;
    UniqueFd fd_;
};

// What kakuri serves while it waits for a child, besides the signals it passes on.
class Watch {
public:
    static constexpr int kMaxFds = 4;
    // Fills up to kMaxFds pollfds (a negative fd is skipped); how many.
    virtual int poll_fds(struct pollfd* out) = 0;
    // What poll saw on them. false: stop waiting, the child lives on (a detached container).
    virtual bool on_ready(const struct pollfd* fds, int n) = 0;
    // A signal kakuri keeps for itself instead of passing it on; true when taken.
    virtual bool take_signal(int) { return false; }
    // The child's status when it told it before exiting and nothing of it is left to wait
    // for: the wait ends there, the child unreaped (the kernel's teardown of its namespaces
    // finishes on its own).
    virtual std::optional<int> ended() const { return std::nullopt; }

protected:
    ~Watch() = default;
};

// A process kakuri made. Not owning: kakuri reaps what it waits for, and a detached
// container's init outlives the handle on purpose.
class Child {
public:
    Child() = default;
    explicit Child(pid_t pid) : pid_(pid) {}
    // clone(flags) (flags 0: fork) running child_main, which reports its own errors and never
    // returns; what still escapes it is said on stderr, status 125, as main would.
    // Throws Error(what, errno) when no child was made.
    static Child spawn(unsigned long flags, const std::string& what,
                       const std::function<void()>& child_main);

    pid_t pid() const { return pid_; }
    // Nothing of it may stay behind (it may be waiting for a word that will not come).
    void kill_and_reap();
    // Blocks until it exits; its shell status.
    int wait();
    // Passes every signal sigs receives on to the child until it exits (SIGCHLD: reaped) or
    // watch says it ended, serving watch meanwhile; its shell status, or nothing when watch
    // stopped the wait.
    std::optional<int> forward_until_exit(const ForwardedSignals& sigs, Watch& watch);

private:
    pid_t pid_ = -1;
};

// A running process pinned by a pidfd: once open with its start time checked, a later
// process given the same pid can no longer be taken for it.
class Pidfd {
public:
    Pidfd() = default;
    // Invalid when pid is gone or is no longer the process that started at start_time.
    Pidfd(pid_t pid, uint64_t start_time);
    explicit operator bool() const { return bool(fd_); }
    int fd() const { return fd_.get(); }
    // Its namespaces now; throws when one recorded (non-zero) has changed since.
    Namespaces namespaces(const Namespaces& recorded) const;
    bool alive() const;
    void signal(int sig) const;
    // Up to timeout seconds for it to exit; true when it did.
    bool wait_exit(int timeout_s) const;

private:
    pid_t pid_ = -1;
    UniqueFd fd_;
};

// Keeps the lock held open until the process pidfd names has exited, from a process of its
// own that outlives kakuri: no child of kakuri's (nothing waits for it), in its own session,
// at /, holding nothing but those two fds (its standard ones on /dev/null), outside every
// namespace of the container. What a detached container holds for its whole life (its image,
// README "Images") is held there, never inside it. Throws Error when no holder was made.
void hold_until_exit(int pidfd, int lock);

}  // namespace kakuri
