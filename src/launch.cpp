// launch: process life cycle of a temporary container.
//
// kakuri (outside) ──clone(all namespaces)──> init (PID 1) ──fork──> command (PID 2)
// kakuri forwards signals to init, init to the command; init reaps every zombie
// and exits with the command's status, which takes the whole PID namespace down.
// If kakuri dies, PDEATHSIG kills init and with it the container.
#include "launch.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "caps.hpp"
#include "envrules.hpp"
#include "logfile.hpp"
#include "mounts.hpp"
#include "net.hpp"
#include "paths.hpp"
#include "seccomp.hpp"
#include "store.hpp"
#include "sys.hpp"
#include "tty.hpp"
#include "userns.hpp"

namespace kakuri {

namespace {

// Signals kakuri and init pass on to the command. Stop signals are left out on
// purpose: Ctrl-Z stops kakuri together with the command (same process group),
// so the caller's shell sees its job stop and `fg` resumes both.
const int kForwarded[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM};

sigset_t forwarded_set() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : kForwarded) sigaddset(&s, sig);
    sigaddset(&s, SIGCHLD);
    return s;
}

// One message to kakuri, then exit: the child side of error reporting.
// Without a pipe (a detached container), the message goes to the log.
[[noreturn]] void fail(int err_fd, const std::string& msg, int code) {
    std::string text = err_fd >= 0 ? msg : "kakuri: " + msg + "\n";
    ssize_t n = ::write(err_fd >= 0 ? err_fd : STDERR_FILENO, text.data(), text.size());
    (void)n;
    _exit(code);
}

// The rest of what the container said on the error pipe, to its end; the
// readiness NUL is not part of any message.
void read_messages(int fd, std::string& out) {
    for (char buf[512];;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) out.append(buf, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
}

// Any process in this PID namespace but us? (our /proc is the container's)
bool others_alive() {
    DIR* d = opendir("/proc");
    if (!d) return false;
    bool found = false;
    while (dirent* e = readdir(d))
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && strcmp(e->d_name, "1") != 0) found = true;
    closedir(d);
    return found;
}

// execve with a PATH search that tells "not found" (127) from "cannot execute" (126).
[[noreturn]] void exec_command(const Plan& plan, int err_fd) {
    std::vector<char*> argv, envp;
    for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    const std::string& name = plan.argv[0];
    auto try_exec = [&](const std::string& path) {
        execve(path.c_str(), argv.data(), envp.data());
        if (errno == ENOEXEC) {  // a script without #!: run it with sh, as execvp does
            std::vector<char*> sh = {const_cast<char*>("sh"), const_cast<char*>(path.c_str())};
            sh.insert(sh.end(), argv.begin() + 1, argv.end());
            execve("/bin/sh", sh.data(), envp.data());
            errno = ENOEXEC;
        }
        return errno;
    };
    if (name.find('/') != std::string::npos) {
        int err = try_exec(name);
        if (err == ENOENT) fail(err_fd, name + ": no such file or directory", 127);
        fail(err_fd, name + ": cannot execute: " + strerror(err), 126);
    }
    bool denied = false;
    for (const auto& dir : split(env_value(plan.env, "PATH").value_or(""))) {
        int err = try_exec((dir.empty() ? "." : dir) + "/" + name);
        if (err == EACCES)
            denied = true;
        else if (err != ENOENT && err != ENOTDIR && err != ELOOP && err != ENAMETOOLONG)
            fail(err_fd, name + ": cannot execute: " + strerror(err), 126);
    }
    if (denied) fail(err_fd, name + ": cannot execute: " + strerror(EACCES), 126);
    fail(err_fd, name + ": command not found", 127);
}

// What the command gets besides the plan: where its terminal is, and whether the
// process it forks from is already as confined as it will be (init is; `exec` is not).
struct CommandSetup {
    int slave = -1;      // the container's pty, or -1 (no terminal)
    unsigned mask = 0;   // which of fds 0-2 the pty replaces
    bool confined = false;
    bool own_session = false;  // no terminal and in the caller's session: leave it
};

[[noreturn]] void command_main(const Plan& plan, int err_fd, const sigset_t& caller_mask,
                               mode_t caller_umask, const CommandSetup& cs) {
    try {
        if (chdir(plan.cwd.c_str()) != 0)
            throw Error("cannot enter the working directory " + plan.cwd, errno);
        // A path through a magic link (/proc/self/fd/N) could lead out of the
        // root; getcwd reports such a directory as unreachable (ENOENT).
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/')
            throw Error("the working directory " + plan.cwd + " is outside the container");
        umask(caller_umask);
        // The foreground of the container's terminal; or, without one, a session of its own
        // where its parent is still in the caller's: no terminal of the caller's is ever
        // its controlling one (/dev/tty).
        if (cs.slave >= 0) join_pty_foreground(cs.slave, cs.mask);
        else if (cs.own_session) check(setsid(), "start a session for the command");
        // Never gain privileges through exec (setuid, file capabilities).
        check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
        apply_caps(plan.caps);
        // Nothing but 0-2 reaches the command; err_fd is already close-on-exec.
        check(sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), "mark fds close-on-exec");
        sigprocmask(SIG_SETMASK, &caller_mask, nullptr);
        // Last, so that everything above may still use what the filter denies.
        if (plan.seccomp && !cs.confined) load_default_filter();
    } catch (const Error& e) {
        fail(err_fd, e.what(), e.exit_code());
    }
    exec_command(plan, err_fd);
}

// A detached container's output, relayed by its init from the command's pipe to the log
// (which init alone writes, within its bound), and how the run ended.
struct LogRelay {
    int pipe = -1;  // read end (non-blocking); -1: nothing to relay (an idle init)
    LogFds log;     // !log.open(): not detached

    void pump() {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(pipe, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                // Every writer gone: nothing more will come.
                if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) pipe = -1;
                return;
            }
            log_append(log, buf, static_cast<size_t>(n));
        }
    }

    // Init's last act: what is left in the pipe, the end line, the exit record; then exit.
    [[noreturn]] void finish(int code) {
        if (log.open()) {
            if (pipe >= 0) pump();
            const int64_t now = time(nullptr);
            log_append(log, log_exited_line(code, now));
            if (log.exit >= 0) {
                std::string rec = format_exit({code, now});
                if (pwrite(log.exit, rec.data(), rec.size(), 0) == static_cast<ssize_t>(rec.size()))
                    (void)!ftruncate(log.exit, static_cast<off_t>(rec.size()));
            }
        }
        _exit(code);
    }
};

// PID 1 of the container: reap, forward, and exit with the command's status.
// Without a command (command < 0, a detached idle container) it waits until
// told to stop; SIGTERM from outside goes to everything inside (kakuri stop).
// With a terminal (pty_sock >= 0), a command that stops (Ctrl-Z) is reported to
// kakuri, which stops in turn, and is continued when kakuri says so.
// An `exec` session's leader runs the same loop for its one command (whole = false):
// what it is sent goes to that command only, never to the whole container.
// Detached, it relays the command's output to the log (see LogRelay).
[[noreturn]] void init_loop(pid_t command, int pty_sock, bool whole = true, LogRelay relay = {}) {
    sigset_t all;
    sigfillset(&all);
    int sfd = signalfd(-1, &all, SFD_CLOEXEC);
    if (sfd < 0) relay.finish(125);
    bool stopping = false;
    for (;;) {
        // An idle init that was told to stop leaves once the others are gone
        // (they are not its children: it can only look).
        if (stopping && command < 0 && !others_alive()) relay.finish(0);
        struct pollfd pfd[3] = {{sfd, POLLIN, 0}, {pty_sock, POLLIN, 0}, {relay.pipe, POLLIN, 0}};
        if (pty_sock < 0) pfd[1].fd = -1;
        if (poll(pfd, 3, stopping && command < 0 ? 20 : -1) <= 0) continue;
        if (relay.pipe >= 0 && pfd[2].revents) relay.pump();
        if (pty_sock >= 0 && pfd[1].revents) {
            int fd;
            int tag = recv_msg(pty_sock, &fd);
            if (fd >= 0) ::close(fd);
            if (tag == 'C' && command > 0) {
                kill(-command, SIGCONT);
                kill(command, SIGCONT);
            } else if (tag == -1) {
                pty_sock = -1;  // kakuri is gone; the parent-death signal follows
            }
        }
        if (!pfd[0].revents) continue;
        struct signalfd_siginfo si;
        ssize_t n = ::read(sfd, &si, sizeof si);
        if (n != sizeof si) {
            if (n < 0 && errno == EINTR) continue;
            relay.finish(125);
        }
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
            int status;
            pid_t p;
            while ((p = waitpid(-1, &status, WNOHANG | (pty_sock >= 0 ? WUNTRACED : 0))) > 0) {
                if (p != command) continue;
                if (WIFSTOPPED(status)) {
                    char t = 'T';
                    ssize_t w = ::send(pty_sock, &t, 1, MSG_NOSIGNAL);
                    (void)w;
                    continue;
                }
                relay.finish(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            }
        } else if (si.ssi_code != SI_KERNEL) {
            if (whole && (sig == SIGTERM || (command < 0 && (sig == SIGINT || sig == SIGHUP)))) {
                kill(-1, SIGTERM);
                stopping = true;
            } else if (command > 0) {
                kill(command, sig);
            }
        }
    }
}

// Where a detached init keeps the log's files: log, log.1, exit record, then the pipe.
constexpr int kLogFds = 5;

// Everything about init that the caller's side decided before the clone.
struct InitSetup {
    int err_fd, alive_fd, maps_fd;
    LogFds log;             // a detached container's log (see LogRelay); not open: not detached
    int pty_sock;           // kakuri's end for the pty and job control, or -1 (no terminal)
    unsigned tty_mask;      // which of fds 0-2 are the caller's terminal
    bool ack;               // wait for kakuri's word before the command runs
};

[[noreturn]] void init_main(const Plan& plan, InitSetup in, const sigset_t& caller_mask) {
    // Init lives as long as the container; root inside with SYS_PTRACE may trace it and read
    // its memory (in a user namespace init is dumpable: kakuri exec joins it). Of the caller's
    // environment it needs nothing (the command's is in the plan), and holds no copy but the
    // block.
    forget_environment();
    int err_fd = in.err_fd, alive_fd = in.alive_fd, pty_sock = in.pty_sock;
    LogRelay relay;  // the log as init holds it, once its fds are in place
    try {
        if (in.maps_fd >= 0) {
            // kakuri writes our maps (as real root, or through newuidmap): wait for its word.
            // End of file instead means it failed or died, and says so itself.
            char c;
            ssize_t n;
            while ((n = ::read(in.maps_fd, &c, 1)) < 0 && errno == EINTR) {
            }
            if (n != 1) _exit(125);
            ::close(in.maps_fd);
            // Before the parent-death signal: changing ids clears it.
            become(plan.uid, plan.gid);
        }
        // Die with kakuri. If kakuri died before this line, its end of the
        // alive pipe is already closed: check after arming, so no window is left.
        check(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "set the parent-death signal");
        struct pollfd pfd = {alive_fd, POLLIN, 0};
        if (poll(&pfd, 1, 0) != 0) _exit(125);
        const bool detach = in.log.open();
        if (detach) {
            // A background container: no terminal, output to its log (the command's through
            // init, below).
            UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
            if (!null) throw Error("open /dev/null", errno);
            dup2(null.get(), STDIN_FILENO);
            dup2(in.log.log, STDOUT_FILENO);
            dup2(in.log.log, STDERR_FILENO);
        }
        // Its own session, so that no terminal of the caller's is the container's
        // controlling terminal (/dev/tty inside would open it).
        check(setsid(), "start the container's session");
        // Drop every fd the caller passed us, before any of them could be used
        // (a directory fd is a way out of the new root); keep ours as 3, 4 and 5 (the pty
        // socket; detached, there is none: the log's files are 5, 6 and 7).
        int e = check(fcntl(err_fd, F_DUPFD_CLOEXEC, 10), "move the error pipe");
        int a = check(fcntl(alive_fd, F_DUPFD_CLOEXEC, 10), "move the alive pipe");
        int t = pty_sock >= 0 ? check(fcntl(pty_sock, F_DUPFD_CLOEXEC, 10), "move the pty socket") : -1;
        int logs[3] = {in.log.log, in.log.prev, in.log.exit};
        for (int& f : logs)
            if (f >= 0) f = check(fcntl(f, F_DUPFD_CLOEXEC, 10), "move the log");
        check(dup3(e, 3, O_CLOEXEC), "move the error pipe");
        check(dup3(a, 4, O_CLOEXEC), "move the alive pipe");
        if (t >= 0) check(dup3(t, 5, O_CLOEXEC), "move the pty socket");
        err_fd = 3;
        alive_fd = 4;
        pty_sock = t >= 0 ? 5 : -1;
        int keep = pty_sock >= 0 ? 6 : 5;
        if (detach) {
            for (int i = 0; i < 3; ++i)
                if (logs[i] >= 0) check(dup3(logs[i], kLogFds + i, O_CLOEXEC), "move the log");
            relay.log = {kLogFds, logs[1] >= 0 ? kLogFds + 1 : -1, logs[2] >= 0 ? kLogFds + 2 : -1,
                         in.log.max};
            keep = kLogFds + 3;
        }
        sys_close_range(keep, ~0U, 0);

        mode_t caller_umask = umask(0);
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, nullptr);

        if (plan.userns && plan.map_writer == MapWriter::Self)
            write_own_maps(plan.uid_map, plan.gid_map);
        // As real root, init is not dumpable, so nothing inside may open its /proc/1/exe or
        // its /proc/1/fd. In a user namespace `kakuri exec` must be able to join it; there it
        // is as confined as the command before the command runs (below), so tracing it gains
        // nothing. After the maps: a non-dumpable process's /proc/self files belong to host root.
        if (!plan.userns) check(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "make init non-dumpable");
        apply_mounts(plan);
        if (plan.loopback) bring_up_loopback();
        check(sethostname(plan.hostname.data(), plan.hostname.size()), "set the hostname");

        // The terminal: a pty of the container's own devpts, with the caller's modes and
        // size; kakuri gets the master and relays. From here on init holds nothing of the
        // caller's terminal either.
        CommandSetup cs;
        UniqueFd slave;
        if (pty_sock >= 0) {
            int from = -1;
            for (int fd = 0; fd < 3 && from < 0; ++fd)
                if (in.tty_mask & (1U << fd)) from = fd;
            UniqueFd master = open_container_pty(slave, from);
            send_fd(pty_sock, master.get(), 'M');
            lead_pty_session(slave.get(), in.tty_mask);
            cs.slave = slave.get();
            cs.mask = in.tty_mask;
        }

        // Ready: kakuri records the state. A persistent container then waits
        // for kakuri's word before its command runs (so the record always
        // precedes it), and a detached one before giving up the parent-death
        // signal, so a kakuri killed before that leaves no container behind.
        check(::write(err_fd, "", 1), "report readiness");
        if (in.ack) {
            char c;
            ssize_t n;
            while ((n = ::read(alive_fd, &c, 1)) < 0 && errno == EINTR) {
            }
            if (n != 1) _exit(125);
        }
        if (detach) {
            check(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), "detach from kakuri");
            ::close(err_fd);
            err_fd = -1;
        }
        ::close(alive_fd);

        // No process inside is less confined than the command: a command allowed to trace
        // (--cap-add SYS_PTRACE) would otherwise reach through init whatever the filter,
        // no_new_privs and the capability bounding set keep from it.
        check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs on init");
        apply_caps(plan.caps);
        if (plan.seccomp) load_default_filter();
        cs.confined = true;

        pid_t cmd = -1;
        if (!plan.argv.empty()) {
            // Detached, the command writes to a pipe that init relays to the log: the
            // command and what it starts never hold the log itself, so init alone decides
            // how much of it is kept (see LogRelay). The pipe's read end is fd kLogFds + 3.
            if (detach) {
                int p[2];
                check(pipe2(p, O_CLOEXEC), "create the log's pipe");
                check(dup2(p[1], STDOUT_FILENO), "give the command the log's pipe");
                check(dup2(p[1], STDERR_FILENO), "give the command the log's pipe");
                ::close(p[1]);
                check(dup3(p[0], kLogFds + 3, O_CLOEXEC), "move the log's pipe");
                if (p[0] != kLogFds + 3) ::close(p[0]);
                relay.pipe = kLogFds + 3;
                check(fcntl(relay.pipe, F_SETFL, O_NONBLOCK), "make the log's pipe non-blocking");
            }
            cmd = fork();
            if (cmd < 0) throw Error("fork the command", errno);
            if (cmd == 0) command_main(plan, err_fd, caller_mask, caller_umask, cs);
            if (detach) {
                // Init's own messages go to the log; it holds no writer of the pipe.
                dup2(kLogFds, STDOUT_FILENO);
                dup2(kLogFds, STDERR_FILENO);
            }
        }
        if (err_fd >= 0) ::close(err_fd);
        // Keep no fd but the standard ones (and kakuri's socket while it relays, or the log).
        slave.reset();
        if (detach) {
            sys_close_range(3, 4, 0);
            sys_close_range(kLogFds + 4, ~0U, 0);
        } else {
            sys_close_range(pty_sock >= 0 ? 6 : 3, ~0U, 0);
            if (pty_sock >= 0) sys_close_range(3, 4, 0);
        }
        init_loop(cmd, cmd > 0 ? pty_sock : -1, true, relay);
    } catch (const std::exception& e) {
        const Error* err = dynamic_cast<const Error*>(&e);
        int code = err ? err->exit_code() : 125;
        // Detached and released: nobody reads the error pipe; the log says it, and how it ended.
        if (err_fd < 0 && relay.log.open()) {
            log_append(relay.log, "kakuri: " + one_line(e.what()) + "\n");
            relay.finish(code);
        }
        fail(err_fd, e.what(), code);
    }
}

std::string clone_error(int err, bool userns) {
    std::string msg = std::string("cannot create the container's namespaces: ") + strerror(err);
    if (userns) {
        std::string hint = userns_hint();
        if (!hint.empty()) return msg + hint;
        if (err == ENOSPC) return msg + " (too many user namespaces: raise user.max_user_namespaces)";
    }
    return msg;
}

// The signals kakuri passes on, blocked and read from a signalfd while this
// lives; the caller's mask is what the command gets back.
struct ForwardedSignals {
    sigset_t caller_mask;
    UniqueFd fd;
    ForwardedSignals() {
        sigset_t fwd = forwarded_set();
        sigprocmask(SIG_BLOCK, &fwd, &caller_mask);
        fd.reset(signalfd(-1, &fwd, SFD_CLOEXEC));
        if (!fd) {
            int err = errno;
            sigprocmask(SIG_SETMASK, &caller_mask, nullptr);
            throw Error("create a signalfd", err);
        }
    }
    ~ForwardedSignals() { sigprocmask(SIG_SETMASK, &caller_mask, nullptr); }
    ForwardedSignals(const ForwardedSignals&) = delete;
    ForwardedSignals& operator=(const ForwardedSignals&) = delete;
};

// One message from the leader of the container's terminal session (init, or an
// interactive exec's): the pty's master ('M', once), or that the command stopped ('T',
// Ctrl-Z). kakuri then stops in turn, so the caller's shell sees its job stop; `fg`
// continues kakuri, which takes the terminal again and has the command continued ('C').
void session_message(UniqueFd& sock, CallerTerminal& term, Relay& relay) {
    int fd;
    int tag = recv_msg(sock.get(), &fd);
    if (tag == 'M' && fd >= 0 && !relay.open()) {
        relay.attach(UniqueFd(fd));
        return;
    }
    if (fd >= 0) ::close(fd);
    if (tag == 'T') {
        term.restore();
        raise(SIGTSTP);
        if (relay.open()) term.copy_size_to(relay.master());
        char c = 'C';
        ssize_t w = ::send(sock.get(), &c, 1, MSG_NOSIGNAL);
        (void)w;
    } else if (tag == -1) {
        sock.reset();
    }
}

}  // namespace

RunResult run_container(const Plan& plan, const LaunchHooks& hooks) {
    if (hooks.detach && !hooks.log.open()) throw Error("a detached container needs its log");
    int err_pipe[2], alive_pipe[2];
    check(pipe2(err_pipe, O_CLOEXEC), "create a pipe");
    UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
    check(pipe2(alive_pipe, O_CLOEXEC), "create a pipe");
    UniqueFd alive_r(alive_pipe[0]), alive_w(alive_pipe[1]);
    // The child cannot write maps beyond its own ids; kakuri does, then says so on this pipe.
    const bool parent_maps = plan.userns && plan.map_writer != MapWriter::Self;
    UniqueFd maps_r, maps_w;
    if (parent_maps) {
        int maps_pipe[2];
        check(pipe2(maps_pipe, O_CLOEXEC), "create a pipe");
        maps_r.reset(maps_pipe[0]);
        maps_w.reset(maps_pipe[1]);
    }
    // A terminal on 0-2 (not for a detached container): init passes the pty's master
    // and reports the command's stops on this socket.
    const unsigned tty_mask = hooks.detach ? 0 : terminal_fds();
    UniqueFd sock, sock_child;
    if (tty_mask) {
        int sv[2];
        check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "create a socket pair");
        sock.reset(sv[0]);
        sock_child.reset(sv[1]);
    }

    ForwardedSignals sigs;
    const sigset_t& caller_mask = sigs.caller_mask;
    UniqueFd& sfd = sigs.fd;
    CallerTerminal term(tty_mask);

    pid_t pid = sys_clone(plan.clone_flags);
    if (pid < 0) throw Error(clone_error(errno, plan.userns));
    if (pid == 0) {
        sfd.reset();
        err_r.reset();
        alive_w.reset();
        maps_w.reset();
        sock.reset();
        InitSetup in{err_w.release(),
                     alive_r.release(),
                     maps_r.release(),
                     hooks.detach ? hooks.log : LogFds{},
                     sock_child.release(),
                     tty_mask,
                     hooks.detach || bool(hooks.on_ready)};
        init_main(plan, in, caller_mask);
    }
    err_w.reset();
    alive_r.reset();
    sock_child.reset();
    // maps_r stays open here until the word is written: a child that died meanwhile then
    // costs no SIGPIPE, and the loop below sees it exit.
    if (parent_maps) {
        try {
            write_child_maps(pid, plan.map_writer, plan.uid_map, plan.gid_map, plan.newuidmap,
                             plan.newgidmap);
        } catch (...) {
            // Nothing of the container may stay behind: it is still waiting for its maps.
            kill(pid, SIGKILL);
            while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
            throw;
        }
        check(::write(maps_w.get(), "1", 1), "start the container");
    }
    maps_w.reset();
    maps_r.reset();

    RunResult r;
    Relay relay(term, UniqueFd());
    int status = 0;
    bool reading = true, ready = false;
    for (;;) {
        struct pollfd pfds[5] = {{sfd.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}, {sock.get(), POLLIN, 0}};
        // Fixed slots: the closed ones are negative fds, which poll skips.
        if (!reading) pfds[1].fd = -1;
        if (!sock) pfds[2].fd = -1;
        int nrelay = relay.poll_fds(&pfds[3]);
        if (poll(pfds, static_cast<nfds_t>(3 + nrelay), -1) < 0) {
            if (errno == EINTR) continue;
            throw Error("poll", errno);
        }
        if (nrelay) relay.on_ready(&pfds[3], nrelay);
        if (sock && pfds[2].revents) session_message(sock, term, relay);
        if (reading && pfds[1].revents) {
            char buf[512];
            ssize_t n = ::read(err_r.get(), buf, sizeof buf);
            if (n > 0) r.error.append(buf, static_cast<size_t>(n));
            else if (n == 0 || errno != EINTR) reading = false;
            // A NUL byte from init: set up and ready (never part of a message).
            size_t nul = r.error.find('\0');
            if (!ready && nul != std::string::npos) {
                ready = true;
                r.error.erase(nul, 1);
                try {
                    if (hooks.on_ready) hooks.on_ready(pid);
                } catch (...) {
                    kill(pid, SIGKILL);
                    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
                    }
                    throw;
                }
                if (hooks.detach || hooks.on_ready)
                    check(::write(alive_w.get(), "1", 1), "release the container");
                if (hooks.detach) {
                    // Init closes the pipe once it no longer dies with us.
                    read_messages(err_r.get(), r.error);
                    return r;
                }
            }
        }
        if (pfds[0].revents) {
            struct signalfd_siginfo si;
            if (::read(sfd.get(), &si, sizeof si) != sizeof si) continue;
            int sig = static_cast<int>(si.ssi_signo);
            if (sig == SIGCHLD) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid) break;
            } else if (sig == SIGWINCH && tty_mask) {
                // The pty's size follows the caller's; the kernel tells the program.
                if (relay.open()) term.copy_size_to(relay.master());
            } else {
                // Nothing inside shares the caller's terminal or process group any more:
                // what the terminal sent kakuri (SIGINT, SIGHUP) is passed on too.
                kill(pid, sig);
            }
        }
    }
    // The namespace is gone, so every write end is closed: drain to EOF.
    relay.drain();
    read_messages(err_r.get(), r.error);
    term.restore();
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

RunResult exec_in_container(const Plan& plan, pid_t pid, uint64_t start_time,
                            const Namespaces& recorded) {
    // The pidfd pins the process: once it is open and the start time still
    // matches, it is the container's init and cannot be replaced by pid reuse.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd || process_start_time(pid) != start_time)
        throw Error("the container's init (pid " + std::to_string(pid) + ") is gone");
    const Namespaces init = namespaces_of(pid), self = namespaces_of(getpid());
    int flags = 0;
    for (int i = 0; i < Namespaces::kCount; ++i) {
        if (recorded.ino[i] && recorded.ino[i] != init.ino[i])
            throw Error("pid " + std::to_string(pid) + " is not the container's init any more (its " +
                        Namespaces::kNames[i] + " namespace changed)");
        // Every namespace init has that we do not share: a container created without a
        // network is joined without one, whatever a config says today.
        if (init.ino[i] != self.ino[i]) flags |= Namespaces::kFlags[i];
    }
    // Not dumpable while we hold the caller's terminal and files: nothing inside
    // may ptrace this helper once it has joined.
    check(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "make kakuri non-dumpable");
    // One setns on the pidfd joins them all at once, the user namespace first.
    if (setns(pidfd.get(), flags) != 0)
        throw Error("join the container's namespaces", errno);
    // The plan's ids inside (exec --user: the creator's): ours after joining may differ.
    if (getuid() != plan.uid || getgid() != plan.gid) become(plan.uid, plan.gid);

    int err_pipe[2];
    check(pipe2(err_pipe, O_CLOEXEC), "create a pipe");
    UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
    ForwardedSignals sigs;
    const sigset_t& caller_mask = sigs.caller_mask;
    UniqueFd& sfd = sigs.fd;
    // A terminal on 0-2: the command gets a new pty of the container's devpts (we are
    // in its mount namespace now), never the caller's terminal.
    const unsigned tty_mask = terminal_fds();
    CallerTerminal term(tty_mask);
    UniqueFd master, slave;
    if (tty_mask) {
        int from = -1;
        for (int fd = 0; fd < 3 && from < 0; ++fd)
            if (tty_mask & (1U << fd)) from = fd;
        master = open_container_pty(slave, from);
    }

    // With a terminal, the first process inside leads a session of the container's pty
    // (so that the command's process group is not orphaned and Ctrl-Z stops it), as
    // confined as the command, and reports its stops on this socket, as init does.
    UniqueFd sock, sock_child;
    if (tty_mask) {
        int sv[2];
        check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "create a socket pair");
        sock.reset(sv[0]);
        sock_child.reset(sv[1]);
    }
    pid_t child = fork();  // the first process we make is in the container's PID namespace
    if (child < 0) throw Error("fork", errno);
    if (child == 0) {
        // Inside, for as long as the command with a terminal: see init_main.
        forget_environment();
        sfd.reset();
        err_r.reset();
        pidfd.reset();
        master.reset();
        sock.reset();
        mode_t caller_umask = umask(0);
        umask(caller_umask);
        CommandSetup cs;
        if (!tty_mask) {
            cs.own_session = true;
            command_main(plan, err_w.release(), caller_mask, caller_umask, cs);
        }
        int err_fd = err_w.release();
        try {
            check(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "set the parent-death signal");
            // kakuri outside our PID namespace has no pid here: its socket tells if it is gone.
            struct pollfd gone = {sock_child.get(), POLLRDHUP, 0};
            if (poll(&gone, 1, 0) != 0) _exit(125);
            sigset_t all;
            sigfillset(&all);
            sigprocmask(SIG_SETMASK, &all, nullptr);
            lead_pty_session(slave.get(), tty_mask);
            check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
            apply_caps(plan.caps);
            if (plan.seccomp) load_default_filter();
            cs.slave = slave.get();
            cs.mask = tty_mask;
            cs.confined = true;
            pid_t cmd = fork();
            if (cmd < 0) throw Error("fork the command", errno);
            if (cmd == 0) command_main(plan, err_fd, caller_mask, caller_umask, cs);
            ::close(err_fd);
            slave.reset();
            int s = check(fcntl(sock_child.get(), F_DUPFD_CLOEXEC, 3), "move the socket");
            if (s != 3) check(dup3(s, 3, O_CLOEXEC), "move the socket");
            sys_close_range(4, ~0U, 0);
            init_loop(cmd, 3, false);
        } catch (const Error& e) {
            fail(err_fd, e.what(), e.exit_code());
        }
    }
    err_w.reset();
    slave.reset();
    sock_child.reset();
    Relay relay(term, std::move(master));
    RunResult r;
    int status = 0;
    for (;;) {
        struct pollfd pfds[4] = {{sfd.get(), POLLIN, 0}, {sock.get(), POLLIN, 0}};
        if (!sock) pfds[1].fd = -1;
        int nrelay = relay.poll_fds(&pfds[2]);
        if (poll(pfds, static_cast<nfds_t>(2 + nrelay), -1) < 0) {
            if (errno == EINTR) continue;
            throw Error("poll", errno);
        }
        if (nrelay) relay.on_ready(&pfds[2], nrelay);
        if (sock && pfds[1].revents) session_message(sock, term, relay);
        if (!pfds[0].revents) continue;
        struct signalfd_siginfo si;
        ssize_t n = ::read(sfd.get(), &si, sizeof si);
        if (n != sizeof si) {
            if (n < 0 && errno == EINTR) continue;
            throw Error("read signals", errno);
        }
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
            if (waitpid(child, &status, WNOHANG) == child) break;
        } else if (sig == SIGWINCH && tty_mask) {
            if (relay.open()) term.copy_size_to(relay.master());
        } else {
            kill(child, sig);
        }
    }
    // What the command wrote before it ended; a process it left inside keeps a pty
    // whose other end is gone.
    relay.drain();
    read_messages(err_r.get(), r.error);
    term.restore();
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

}  // namespace kakuri
