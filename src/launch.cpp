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
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
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
#include "cgroup.hpp"
#include "envrules.hpp"
#include "execsearch.hpp"
#include "leftovers.hpp"
#include "logfile.hpp"
#include "mounts.hpp"
#include "net.hpp"
#include "pasta.hpp"
#include "paths.hpp"
#include "sealed.hpp"
#include "seccomp.hpp"
#include "supervise.hpp"
#include "sys.hpp"
#include "tty.hpp"
#include "userns.hpp"

namespace kakuri {

namespace {

// What a temporary container's places held before its command ran (see leftovers), and
// whether -v asked for caches too: init tells, once the command is gone, what vanishes.
struct DiscardNote {
    Snapshot before;
    bool verbose = false;
};
std::optional<DiscardNote> g_discard;  // init's only; it leaves by _exit

// On init's stderr: the caller's, or the container's terminal that kakuri relays.
void note_discards() {
    if (!g_discard) return;
    const std::string note =
        format_leftovers(find_leftovers(g_discard->before), g_discard->verbose);
    if (!note.empty()) (void)!::write(STDERR_FILENO, note.data(), note.size());
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

// The candidates a PATH search tries for name, in order (a name with a slash is its only one).
std::vector<std::string> exec_candidates(const std::string& name,
                                         const std::vector<std::string>& env) {
    if (name.find('/') != std::string::npos) return {name};
    std::vector<std::string> out;
    for (const auto& dir : split(env_value(env, "PATH").value_or("")))
        out.push_back((dir.empty() ? "." : dir) + "/" + name);
    return out;
}

// The same search and the same errors as exec_command, carried out by the exec trampoline from
// its sealed memfd (sealed.hpp, trampoline.c): argv "kakuri-exec", "/" or "p", the name, the
// candidates, "", the command's argv. It says its failure on stderr itself: err_fd, close-on-exec,
// never reaches it (its /proc/PID/fd is open to the container's processes once exec'd).
[[noreturn]] void exec_through_trampoline(const Plan& plan, int err_fd, int trampoline) {
    const std::string& name = plan.process.argv[0];
    std::vector<std::string> words = {"kakuri-exec",
                                      name.find('/') != std::string::npos ? "/" : "p", name};
    for (auto& c : exec_candidates(name, plan.process.env)) words.push_back(std::move(c));
    words.push_back("");
    words.insert(words.end(), plan.process.argv.begin(), plan.process.argv.end());
    std::vector<char*> argv, envp;
    for (const auto& w : words) argv.push_back(const_cast<char*>(w.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : plan.process.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    syscall(SYS_execveat, trampoline, "", argv.data(), envp.data(), AT_EMPTY_PATH);
    fail_child(err_fd, Error("run kakuri's exec trampoline", errno));
}

// execve with a PATH search that tells "not found" (127) from "cannot execute" (126): the
// trampoline's search (execsearch.hpp), with glibc's execve.
[[noreturn]] void exec_command(const Plan& plan, int err_fd) {
    // A slot before the command's argv, for an argv of sh's (exec_one).
    std::vector<char*> argv = {const_cast<char*>("")}, envp;
    for (const auto& a : plan.process.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : plan.process.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const std::string& name = plan.process.argv[0];
    std::vector<std::string> candidates = exec_candidates(name, plan.process.env);
    std::vector<char*> paths;
    for (auto& c : candidates) paths.push_back(c.data());
    const exec_call call = [](const char* path, char** args, char** env) -> long {
        execve(path, args, env);
        return -errno;
    };
    const exec_failure f =
        exec_search(call, name.find('/') != std::string::npos, paths.data(),
                    static_cast<long>(paths.size()), argv.data() + 1, envp.data());
    fail_child(err_fd, Error(name + f.what, static_cast<int>(f.err), f.status));
}

// What the command gets besides the plan: the caller's umask and signal mask, where its
// terminal is, and whether the process it forks from is already as confined as it will be
// (init is; `exec` without a terminal is not).
struct CommandSetup {
    sigset_t caller_mask;
    mode_t caller_umask = 0;
    int slave = -1;     // the container's pty, or -1 (no terminal)
    unsigned mask = 0;  // which of fds 0-2 the pty replaces
    bool confined = false;
    bool own_session = false;  // no terminal and in the caller's session: leave it
};

// cwd; or fallback, when it is "/" and root inside may not enter cwd (see Process::cwd_fallback).
void enter_working_directory(const std::string& cwd, const std::string& fallback) {
    if (chdir(cwd.c_str()) != 0) {
        const int err = errno;
        if (fallback.empty() || (err != EACCES && err != ENOENT) || chdir(fallback.c_str()) != 0)
            throw Error("cannot enter the working directory " + cwd, err);
    }
    // A path through a magic link (/proc/self/fd/N) could lead out of the
    // root; getcwd reports such a directory as unreachable (ENOENT).
    char buf[4096];
    if (!getcwd(buf, sizeof buf) || buf[0] != '/')
        throw Error("the working directory " + cwd + " is outside the container");
}

// The command's own steps, after what init (or exec's first process) did for it: working
// directory, umask, terminal, no_new_privs, caps, close fds, signal mask, seccomp last, exec.
[[noreturn]] void command_main(const Plan& plan, int err_fd, const CommandSetup& cs) {
    UniqueFd trampoline;
    try {
        enter_working_directory(plan.process.cwd, plan.process.cwd_fallback);
        umask(cs.caller_umask);
        // The foreground of the container's terminal; or, without one, a session of its own
        // where its parent is still in the caller's: no terminal of the caller's is ever
        // its controlling one (/dev/tty).
        if (cs.slave >= 0)
            join_pty_foreground(cs.slave, cs.mask);
        else if (cs.own_session)
            check(setsid(), "start a session for the command");
        // Never gain privileges through exec (setuid, file capabilities). A fork of init has
        // both already (confine), as it has the filter.
        if (!cs.confined) {
            check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
            apply_caps(plan.policy.caps);
        }
        // Nothing but 0-2 reaches the command; err_fd is already close-on-exec.
        check(sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), "mark fds close-on-exec");
        sigprocmask(SIG_SETMASK, &cs.caller_mask, nullptr);
        // The trampoline before the filter: a memfd is nothing a command needs to make.
        if (plan.process.exec_trampoline) trampoline = make_exec_trampoline();
        // Last, so that everything above may still use what the filter denies.
        if (plan.policy.seccomp && !cs.confined) load_default_filter();
    } catch (const Error& e) {
        fail_child(err_fd, e);
    }
    if (trampoline) exec_through_trampoline(plan, err_fd, trampoline.get());
    exec_command(plan, err_fd);
}

// A detached container's output, relayed by its init from the command's pipe to the log
// (which init alone writes, within its bound), and how the run ended.
struct LogRelay {
    int pipe = -1;  // read end (non-blocking); -1: nothing to relay (an idle init)
    LogFds log;     // !log.open(): not detached
    // Attached and nothing else to wait for: kakuri's error pipe, told the status last, so
    // that kakuri returns it without waiting for the teardown of the namespaces; else -1.
    int tell = -1;

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
        if (tell >= 0) {
            const std::string told = frame_status(code);
            (void)!::write(tell, told.data(), told.size());  // a few bytes: one write
            // Every file closed now, not by the exit: a dying process's files are let go only
            // after its namespaces, past the teardown of the mount table and the RCU grace
            // period it waits for (1 ms on the machine of bench/RESULTS.md). kakuri's end of
            // the pipe, and a reader of the command's output through init's copy, see the
            // end at once.
            sys_close_range(0, ~0U, 0);
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
                note_discards();
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

// The first of fds 0-2 that is a terminal (mask from terminal_fds()), or -1.
int first_terminal(unsigned mask) {
    for (int fd = 0; fd < 3; ++fd)
        if (mask & (1U << fd)) return fd;
    return -1;
}

// Everything init works with: what kakuri decided before the clone, and init's fds as it
// moves them (keep_own_fds).
struct Init {
    Init(const Plan& p, const sigset_t& caller_mask) : plan(p) { cs.caller_mask = caller_mask; }
    const Plan& plan;
    int err_fd = -1, alive_fd = -1, maps_fd = -1;
    int net_fd = -1;           // a private network: kakuri's socket for pasta (await_private_net)
    int cgroup_fd = -1;        // kakuri's word that init is in the container's cgroup, or -1
    int pty_sock = -1;         // kakuri's end for the pty and job control, or -1 (no terminal)
    unsigned tty_mask = 0;     // which of fds 0-2 are the caller's terminal
    bool ack = false;          // wait for kakuri's word before the command runs
    bool tell_status = false;  // keep the error pipe to tell the command's status (LogRelay)
    LogFds log;                // a detached container's log as kakuri opened it (or not open)
    LogRelay relay;            // the log as init holds it, once its fds are in place
    UniqueFd slave;            // the container's pty, until the command has it
    CommandSetup cs;           // what the command gets besides the plan
    bool detached() const { return log.open(); }
};

// The container's cgroup, when it has limits: once kakuri has put init in it, a cgroup namespace
// rooted there, so that the container sees its own cgroup as / (README, "Resource limits").
// First of all: before the maps, init has every capability in its user namespace.
void enter_own_cgroup(Init& in) {
    if (in.cgroup_fd < 0) return;
    await_word(in.cgroup_fd, "wait for the container's cgroup");
    ::close(in.cgroup_fd);
    in.cgroup_fd = -1;
    check(unshare(CLONE_NEWCGROUP), "enter the container's cgroup namespace");
}

// Identity, when kakuri writes our maps (as real root, or through newuidmap): wait for its
// word, then take the container's ids. End of file instead means kakuri failed or died, and
// says so itself. Before the parent-death signal: changing ids clears it.
void take_mapped_ids(Init& in) {
    if (in.maps_fd < 0) return;
    await_word(in.maps_fd, "wait for the id maps");
    ::close(in.maps_fd);
    in.maps_fd = -1;
    become(in.plan.identity.uid, in.plan.identity.gid);
}

// Throws when kakuri's end of fd is closed (events: what its closing raises here).
void check_kakuri_alive(int fd, short events) {
    struct pollfd pfd = {fd, events, 0};
    int n = poll(&pfd, 1, 0);
    if (n < 0) throw Error("look whether kakuri is alive", errno);
    if (n > 0) throw Error("kakuri is gone");
}

// Die with kakuri. If kakuri died before this, its end of the alive pipe is already closed:
// checked after arming, so no window is left.
void die_with_kakuri(const Init& in) {
    check(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "set the parent-death signal");
    check_kakuri_alive(in.alive_fd, POLLIN);
}

// A background container: no terminal, output to its log (the command's through init, see
// pipe_output_to_log).
void output_to_log(const Init& in) {
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) throw Error("open /dev/null", errno);
    dup2(null.get(), STDIN_FILENO);
    dup2(in.log.log, STDOUT_FILENO);
    dup2(in.log.log, STDERR_FILENO);
}

// Drop every fd the caller passed us, before any of them could be used (a directory fd is a
// way out of the new root); keep ours as 3, 4 and 5 (the pty socket; detached, there is none:
// the log's files are 5, 6 and 7).
void keep_own_fds(Init& in) {
    int e = check(fcntl(in.err_fd, F_DUPFD_CLOEXEC, 10), "move the error pipe");
    int a = check(fcntl(in.alive_fd, F_DUPFD_CLOEXEC, 10), "move the alive pipe");
    int t = in.pty_sock >= 0 ? check(fcntl(in.pty_sock, F_DUPFD_CLOEXEC, 10), "move the pty socket")
                             : -1;
    int n =
        in.net_fd >= 0 ? check(fcntl(in.net_fd, F_DUPFD_CLOEXEC, 10), "move the net socket") : -1;
    int logs[3] = {in.log.log, in.log.prev, in.log.exit};
    for (int& f : logs)
        if (f >= 0) f = check(fcntl(f, F_DUPFD_CLOEXEC, 10), "move the log");
    check(dup3(e, 3, O_CLOEXEC), "move the error pipe");
    check(dup3(a, 4, O_CLOEXEC), "move the alive pipe");
    if (t >= 0) check(dup3(t, 5, O_CLOEXEC), "move the pty socket");
    in.err_fd = 3;
    in.alive_fd = 4;
    in.pty_sock = t >= 0 ? 5 : -1;
    int keep = in.pty_sock >= 0 ? 6 : 5;
    if (in.detached()) {
        for (int i = 0; i < 3; ++i)
            if (logs[i] >= 0) check(dup3(logs[i], kLogFds + i, O_CLOEXEC), "move the log");
        in.relay.log = {kLogFds, logs[1] >= 0 ? kLogFds + 1 : -1, logs[2] >= 0 ? kLogFds + 2 : -1,
                        in.log.max};
        keep = kLogFds + 3;
    }
    if (n >= 0) {
        // Until the network is up only (await_private_net closes it).
        check(dup3(n, keep, O_CLOEXEC), "move the net socket");
        in.net_fd = keep++;
    }
    sys_close_range(keep, ~0U, 0);
}

// The caller's umask and signal mask are the command's; init itself blocks every signal and
// reads them from a signalfd (init_loop).
void hold_signals(Init& in) {
    in.cs.caller_umask = umask(0);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
}

// Identity, when the container writes its own maps (the caller's ids, setgroups denied).
void write_maps_if_own(const Plan& plan) {
    if (plan.identity.userns && plan.identity.map_writer == MapWriter::Self)
        write_own_maps(plan.identity.uid_map, plan.identity.gid_map);
}

// As real root, init is not dumpable, so nothing inside may open its /proc/1/exe or its
// /proc/1/fd. In a user namespace `kakuri exec` must be able to join a persistent container's
// init; there it is as confined as the command before the command runs (confine), so tracing
// it gains nothing, and it runs from a sealed copy. A temporary container's init nobody joins:
// it is not dumpable in any mode, so nothing inside opens its /proc/1/fd (the error pipe it
// keeps to tell the status, LogRelay::tell) or exe (ExecGuard).
// After the setup (the maps, pasta's join of the network), before anything else runs inside:
// until the command is forked no process of the container's but init exists.
void guard_init(const Init& in) {
    if (!in.plan.identity.userns || in.plan.process.exec_trampoline || !in.ack)
        check(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "make init non-dumpable");
}

// A private network: kakuri starts pasta once the maps are written (pasta joins the user
// namespace as root there), and says when the network is up; the command never sees it
// half made. Init hands over its network namespace itself (an fd of it), so that what pasta
// joins is the namespace init made, never one a pid reused since names.
void await_private_net(Init& in) {
    if (in.net_fd < 0) return;
    {
        UniqueFd ns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        if (!ns) throw Error("open the container's network namespace", errno);
        send_fd(in.net_fd, ns.get(), 'n', "ask for the private network");
    }
    await_word(in.net_fd, "wait for the private network");
    ::close(in.net_fd);
    in.net_fd = -1;
}

// ping in a private network: pasta answers the container's ICMP echo requests through ICMP
// echo sockets of its own on the host; inside, a program without CAP_NET_RAW needs the same
// kind of socket, which a new network namespace allows no group (net.ipv4.ping_group_range is
// "1 0" there). The container's groups (its gid_map's first range, in its own network
// namespace only) may, as in podman's containers. Best effort: without it only ping is lost.
void allow_ping(const Plan& plan) {
    if (!plan.policy.net.on) return;
    std::string map;
    if (!read_file("/proc/self/gid_map", map)) return;
    unsigned long long inside = 0, outside = 0, count = 0;
    if (sscanf(map.c_str(), "%llu %llu %llu", &inside, &outside, &count) != 3 || count == 0) return;
    const unsigned long long high = std::min(inside + count - 1, 2147483647ULL);
    if (inside > high) return;
    const std::string range = std::to_string(inside) + " " + std::to_string(high) + "\n";
    UniqueFd f(::open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC));
    if (f) (void)!::write(f.get(), range.data(), range.size());
}

void set_hostname(const std::string& name) {
    check(sethostname(name.data(), name.size()), "set the hostname");
}

// The terminal: a pty of the container's own devpts, with the caller's modes and size;
// kakuri gets the master and relays. From here on init holds nothing of the caller's
// terminal either.
void open_terminal(Init& in) {
    UniqueFd master = open_container_pty(in.slave, first_terminal(in.tty_mask));
    send_fd(in.pty_sock, master.get(), 'M');
    lead_pty_session(in.slave.get(), in.tty_mask);
    in.cs.slave = in.slave.get();
    in.cs.mask = in.tty_mask;
}

// Ready: kakuri records the state. A persistent container then waits for kakuri's word
// before its command runs (so the record always precedes it), and a detached one before
// giving up the parent-death signal, so a kakuri killed before that leaves no container
// behind.
void report_ready(Init& in) {
    check(::write(in.err_fd, "", 1), "report readiness");
    if (in.ack) await_word(in.alive_fd, "wait for kakuri's release");
    if (in.detached()) {
        check(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), "detach from kakuri");
        ::close(in.err_fd);
        in.err_fd = -1;
    }
    ::close(in.alive_fd);
    in.alive_fd = -1;
}

// No process inside is less confined than the command: a command allowed to trace
// (--cap-add SYS_PTRACE) would otherwise reach through init (or an exec's session leader)
// whatever the filter, no_new_privs and the capability bounding set keep from it.
void confine(const Plan& plan, const char* no_new_privs_what) {
    check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), no_new_privs_what);
    apply_caps(plan.policy.caps);
    if (plan.policy.seccomp) load_default_filter();
}

// Detached, the command writes to a pipe that init relays to the log: the command and what
// it starts never hold the log itself, so init alone decides how much of it is kept (see
// LogRelay). The pipe's read end is fd kLogFds + 3.
void pipe_output_to_log(Init& in) {
    int p[2];
    check(pipe2(p, O_CLOEXEC), "create the log's pipe");
    check(dup2(p[1], STDOUT_FILENO), "give the command the log's pipe");
    check(dup2(p[1], STDERR_FILENO), "give the command the log's pipe");
    ::close(p[1]);
    check(dup3(p[0], kLogFds + 3, O_CLOEXEC), "move the log's pipe");
    if (p[0] != kLogFds + 3) ::close(p[0]);
    in.relay.pipe = kLogFds + 3;
    check(fcntl(in.relay.pipe, F_SETFL, O_NONBLOCK), "make the log's pipe non-blocking");
}

// A process that runs command_main and nothing else, made with vfork: it runs in its parent's
// memory until its exec (or its _exit), the parent waiting. A fork would copy the parent's page
// tables and then fault on every page either of them writes, a dozen microseconds each on a
// virtual machine (bench/RESULTS.md). command_main changes nothing of the parent's but memory
// the parent no longer uses (frames below this one, a few allocations); what else it changes
// (working directory, umask, session, signal mask, fds) is the process's own. It never returns
// here: what escapes it ends the process.
[[gnu::noinline]] pid_t vfork_command(const Plan& plan, int err_fd, const CommandSetup& cs) {
    const pid_t pid = vfork();
    if (pid != 0) return pid;
    try {
        command_main(plan, err_fd, cs);
    } catch (...) {
    }
    _exit(125);
}

// The command, forked from a confined init (an idle init has none: -1).
pid_t start_command(Init& in) {
    if (in.plan.process.argv.empty()) return -1;
    if (in.detached()) pipe_output_to_log(in);
    // Before the command writes anything: what its vanishing places hold.
    const DiscardWatch& dw = in.plan.process.discard;
    if (dw.on && !in.detached())
        g_discard.emplace(DiscardNote{take_snapshot(dw.dirs, dw.paths), dw.verbose});
    pid_t cmd = vfork_command(in.plan, in.err_fd, in.cs);
    if (cmd < 0) throw Error("fork the command", errno);
    if (in.detached()) {
        // Init's own messages go to the log; it holds no writer of the pipe.
        dup2(kLogFds, STDOUT_FILENO);
        dup2(kLogFds, STDERR_FILENO);
    }
    return cmd;
}

// Keep no fd but the standard ones (and kakuri's socket while it relays, or the log).
// The error pipe (3) stays only to tell kakuri the status at the end (Init::tell_status).
void keep_loop_fds(Init& in) {
    in.slave.reset();
    if (in.detached()) {
        sys_close_range(3, 4, 0);
        sys_close_range(kLogFds + 4, ~0U, 0);
        in.err_fd = -1;
        return;
    }
    sys_close_range(in.pty_sock >= 0 ? 6 : 5, ~0U, 0);
    sys_close_range(4, 4, 0);  // the alive pipe: the parent-death signal stays
    if (in.tell_status) {
        in.relay.tell = in.err_fd;
    } else {
        sys_close_range(3, 3, 0);
        in.err_fd = -1;
    }
}

// Init's failure, told to kakuri on the error pipe. Detached and released, nobody reads
// that pipe: the log says it, and how the run ended.
[[noreturn]] void init_failed(Init& in, const std::exception& e) {
    const Error* err = dynamic_cast<const Error*>(&e);
    int code = err ? err->exit_code() : 125;
    if (in.err_fd < 0 && in.relay.log.open()) {
        log_append(in.relay.log, "kakuri: " + one_line(e.what()) + "\n");
        in.relay.finish(code);
    }
    fail_child(in.err_fd, err ? *err : Error(e.what()));
}

// PID 1's life, in the order the container is made: identity, mounts, network, hostname,
// the terminal, readiness, then init confined as the command will be (no_new_privs, caps,
// seccomp) before the command is forked; command_main does the rest of the command's own.
// Each step tells its failure, errno kept, on the error pipe (init_failed).
[[noreturn]] void init_main(Init& in) {
    // Init lives as long as the container; root inside with SYS_PTRACE may trace it and read
    // its memory (in a user namespace init is dumpable: kakuri exec joins it). Of the caller's
    // environment it needs nothing (the command's is in the plan), and holds no copy but the
    // block.
    forget_environment();
    try {
        enter_own_cgroup(in);
        take_mapped_ids(in);
        die_with_kakuri(in);
        if (in.detached()) output_to_log(in);
        // Its own session, so that no terminal of the caller's is the container's
        // controlling terminal (/dev/tty inside would open it).
        check(setsid(), "start the container's session");
        keep_own_fds(in);
        hold_signals(in);
        write_maps_if_own(in.plan);
        await_private_net(in);
        allow_ping(in.plan);
        apply_mounts(in.plan);
        if (in.plan.loopback) bring_up_loopback();
        set_hostname(in.plan.policy.hostname);
        if (in.pty_sock >= 0) open_terminal(in);
        guard_init(in);
        report_ready(in);
        confine(in.plan, "set no_new_privs on init");
        in.cs.confined = true;
        pid_t cmd = start_command(in);
        keep_loop_fds(in);
        init_loop(cmd, cmd > 0 ? in.pty_sock : -1, true, in.relay);
    } catch (const std::exception& e) {
        init_failed(in, e);
    }
}

// Why the kernel refused the container's namespaces, when that can be told.
std::string clone_hint(int err, bool userns) {
    if (!userns) return "";
    std::string hint = userns_hint();
    if (!hint.empty()) return hint;
    if (err == ENOSPC) return " (too many user namespaces: raise user.max_user_namespaces)";
    return "";
}

// kakuri's end and the session leader's of the socket for the pty and job control; none
// without a terminal.
struct SessionSockets {
    UniqueFd ours, theirs;
};
SessionSockets session_sockets(unsigned tty_mask) {
    SessionSockets s;
    if (!tty_mask) return s;
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "create a socket pair");
    s.ours.reset(sv[0]);
    s.theirs.reset(sv[1]);
    return s;
}

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

// kakuri's side of a container it runs, served while it waits for it: the caller's terminal
// relayed to the container's pty, the messages of the pty session's leader, and what the
// container says on its error pipe (init's readiness byte among it).
class Attendant final : public Watch {
public:
    // on_ready: called once the container is set up; false stops the wait (detached).
    Attendant(unsigned tty_mask, UniqueFd master, UniqueFd sock, UniqueFd err,
              std::function<bool()> on_ready = nullptr)
        : term_(tty_mask),
          relay_(term_, std::move(master)),
          sock_(std::move(sock)),
          err_(std::move(err)),
          on_ready_(std::move(on_ready)) {}

    int poll_fds(struct pollfd* out) override {
        // Fixed slots: the closed ones are negative fds, which poll skips.
        out[0] = {reading_ ? err_.get() : -1, POLLIN, 0};
        out[1] = {sock_ ? sock_.get() : -1, POLLIN, 0};
        return 2 + relay_.poll_fds(&out[2]);
    }

    bool on_ready(const struct pollfd* fds, int n) override {
        if (n > 2) relay_.on_ready(&fds[2], n - 2);
        if (sock_ && fds[1].revents) session_message(sock_, term_, relay_);
        if (reading_ && fds[0].revents) reading_ = report_.read_some(err_.get());
        if (!ready_ && report_.ready()) {
            ready_ = true;
            if (on_ready_ && !on_ready_()) return false;
        }
        return true;
    }

    // Init told the status and its error pipe is closed: init is exiting, its files closed.
    std::optional<int> ended() const override { return reading_ ? std::nullopt : report_.status(); }

    bool take_signal(int sig) override {
        if (sig != SIGWINCH || !term_.active()) return false;
        // The pty's size follows the caller's; the kernel tells the program.
        if (relay_.open()) term_.copy_size_to(relay_.master());
        return true;
    }

    // Once the container exited with status, or is no longer waited for (detached, ready):
    // what the relay and the error pipe still hold. The namespace gone, every writer is
    // closed; a process left inside an exec keeps a pty whose other end is gone.
    RunResult finish(std::optional<int> status) {
        if (status) relay_.drain();
        // Detached: init closes the pipe once it no longer dies with kakuri. Ended: what is
        // there, not what a writer that outlived init might still send (init is gone).
        if (status) (void)fcntl(err_.get(), F_SETFL, O_NONBLOCK);
        report_.read_to_end(err_.get());
        if (status) term_.restore();
        RunResult r;
        r.code = status.value_or(0);
        r.error = report_.error();
        return r;
    }

private:
    CallerTerminal term_;
    Relay relay_;
    UniqueFd sock_, err_;
    std::function<bool()> on_ready_;
    ChildReport report_;
    bool reading_ = true, ready_ = false;
};

// Joins exactly the namespaces the running container's init has, never rebuilt from a plan
// or a config, and takes the plan's ids inside.
void join_container(const Plan& plan, pid_t pid, uint64_t start_time, const Namespaces& recorded) {
    // The pidfd pins the process: once it is open and the start time still
    // matches, it is the container's init and cannot be replaced by pid reuse.
    Pidfd init(pid, start_time);
    if (!init) throw Error("the container's init (pid " + std::to_string(pid) + ") is gone");
    const Namespaces ns = init.namespaces(recorded), self = namespaces_of(getpid());
    // A container with limits: what exec starts draws on them too, in the container's cgroup
    // (kakuri moves there first; the command is its child). Before joining its namespaces.
    if (plan.policy.limits.cgroup() && !join_cgroups_of(pid))
        throw Error("the container's cgroup is gone: its limits cannot be applied to exec");
    int flags = 0;
    // Every namespace init has that we do not share: a container created without a
    // network is joined without one, whatever a config says today.
    for (int i = 0; i < Namespaces::kCount; ++i)
        if (ns.ino[i] != self.ino[i]) flags |= Namespaces::kFlags[i];
    // Not dumpable while we hold the caller's terminal and files: nothing inside
    // may ptrace this helper once it has joined.
    check(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "make kakuri non-dumpable");
    // One setns on the pidfd joins them all at once, the user namespace first.
    if (setns(init.fd(), flags) != 0) throw Error("join the container's namespaces", errno);
    // The plan's ids inside (exec --user: the creator's): ours after joining may differ.
    if (getuid() != plan.identity.uid || getgid() != plan.identity.gid)
        become(plan.identity.uid, plan.identity.gid);
}

// What the first process `exec` makes inside is given.
struct ExecChild {
    const Plan& plan;
    int err_fd;
    sigset_t caller_mask;
    unsigned tty_mask;  // which of fds 0-2 are the caller's terminal (0: none)
    int slave, sock;    // with a terminal: the container's pty, and kakuri's socket
};

// What the command `exec` runs gets from the caller: its signal mask and umask.
CommandSetup caller_setup(const sigset_t& caller_mask) {
    CommandSetup cs;
    cs.caller_mask = caller_mask;
    cs.caller_umask = umask(0);
    umask(cs.caller_umask);
    return cs;
}

// The first process `exec` makes with a terminal, in the container's PID namespace: it leads a
// session of the container's pty (so that the command's process group is not orphaned and
// Ctrl-Z stops it), as confined as the command, and reports the command's stops on the socket,
// as init does. (Without a terminal the first process is the command: exec_in_container.)
[[noreturn]] void exec_child_main(const ExecChild& x) {
    // Inside, for as long as the command with a terminal: see init_main.
    forget_environment();
    CommandSetup cs = caller_setup(x.caller_mask);
    try {
        check(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "set the parent-death signal");
        // kakuri outside our PID namespace has no pid here: its socket tells if it is gone.
        check_kakuri_alive(x.sock, POLLRDHUP);
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, nullptr);
        lead_pty_session(x.slave, x.tty_mask);
        confine(x.plan, "set no_new_privs");
        cs.slave = x.slave;
        cs.mask = x.tty_mask;
        cs.confined = true;
        pid_t cmd = vfork_command(x.plan, x.err_fd, cs);
        if (cmd < 0) throw Error("fork the command", errno);
        ::close(x.err_fd);
        ::close(x.slave);
        int s = check(fcntl(x.sock, F_DUPFD_CLOEXEC, 3), "move the socket");
        if (s != 3) check(dup3(s, 3, O_CLOEXEC), "move the socket");
        sys_close_range(4, ~0U, 0);
        init_loop(cmd, 3, false);
    } catch (const Error& e) {
        fail_child(x.err_fd, e);
    }
}

// Once init has asked (its maps written), pasta for its network namespace; then init's word.
// End of file instead: init failed, and says why on its error pipe.
UniqueFd start_private_net(const Plan& plan, Child& init, int sock, int hold) {
    int got = -1, tag;
    for (;;) {
        struct pollfd pfd = {sock, POLLIN, 0};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) throw Error("wait for init", errno);
        if ((tag = recv_msg(sock, &got)) != -2) break;
    }
    UniqueFd netns(got);
    if (tag != 'n' || !netns) return UniqueFd();
    // Init's own namespace (it opened its /proc/thread-self/ns/net), checked for its kind.
    if (ioctl(netns.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
        init.kill_and_reap();
        throw Error("init passed no network namespace");
    }
    Pidfd pidfd(init.pid(), process_start_time(init.pid()));
    if (!pidfd) {
        init.kill_and_reap();
        throw Error("the container's init is gone before its network was up");
    }
    UniqueFd keeper =
        connect_private_net(plan, netns.get(), pidfd.fd(), hold, [&] { init.kill_and_reap(); });
    // Init killed meanwhile: the wait that follows sees it end (no SIGPIPE for kakuri).
    if (send(sock, "1", 1, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
        throw Error("say the network is up", errno);
    return keeper;
}

}  // namespace

int RunResult::status_or_throw() const {
    if (error) throw Error::told(error->what(), error->err(), code ? code : error->exit_code());
    return code;
}

// Long on purpose: its steps, in this order, are the parent's half of the handshake with
// init_main (every pipe before the clone; the cgroup, then the maps, while init waits on them;
// pasta once init is in its namespaces; the wait; then what the end means). Split among helpers,
// that order would no longer be read in one place.
RunResult run_container(const Plan& plan, const LaunchHooks& hooks) {
    if (hooks.detach && !hooks.log.open()) throw Error("a detached container needs its log");
    Pipe err = make_pipe(), alive = make_pipe();
    // The child cannot write maps beyond its own ids; kakuri does, then says so on this pipe.
    const bool parent_maps = plan.identity.userns && plan.identity.map_writer != MapWriter::Self;
    Pipe maps = parent_maps ? make_pipe() : Pipe{};
    // A terminal on 0-2 (not for a detached container): init passes the pty's master
    // and reports the command's stops on this socket.
    const unsigned tty_mask = hooks.detach ? 0 : terminal_fds();
    SessionSockets sock = session_sockets(tty_mask);
    UniqueFd net_ours, net_theirs;
    if (plan.policy.net.on) {
        int sv[2];
        check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "create the net socket");
        net_ours = UniqueFd(sv[0]);
        net_theirs = UniqueFd(sv[1]);
    }

    // Limits: the container's cgroup, made before anything else (or refused, 125).
    std::optional<Cgroup> cgroup;
    if (plan.policy.limits.cgroup())
        cgroup.emplace(Cgroup::make(locate_cgroup(plan.policy.limits, scan_cgroup_host())));
    Pipe placed = cgroup ? make_pipe() : Pipe{};

    ForwardedSignals sigs;
    Child init;
    try {
        init = Child::spawn(plan.clone_flags, "cannot create the container's namespaces", [&] {
            sigs.close_in_child();
            err.r.reset();
            alive.w.reset();
            maps.w.reset();
            placed.w.reset();
            sock.ours.reset();
            Init in(plan, sigs.caller_mask());
            in.err_fd = err.w.release();
            in.alive_fd = alive.r.release();
            in.maps_fd = maps.r.release();
            net_ours.reset();
            in.net_fd = net_theirs.release();
            in.cgroup_fd = placed.r.release();
            in.log = hooks.detach ? hooks.log : LogFds{};
            in.pty_sock = sock.theirs.release();
            in.tty_mask = tty_mask;
            in.ack = hooks.detach || bool(hooks.on_ready);
            // kakuri may return as soon as it is told the status when nothing else ends with
            // the container (the plan's await_teardown) and no state is to be recorded.
            in.tell_status = !in.ack && !plan.await_teardown;
            init_main(in);
        });
    } catch (const Error& e) {
        throw e.wrap("", clone_hint(e.err(), plan.identity.userns));
    }
    err.w.reset();
    alive.r.reset();
    sock.theirs.reset();
    placed.r.reset();
    if (cgroup) {
        try {
            cgroup->place(init.pid());
        } catch (...) {
            init.kill_and_reap();
            throw;
        }
        check(::write(placed.w.get(), "1", 1), "start the container in its cgroup");
        placed.w.reset();
    }
    // maps.r stays open here until the word is written: a child that died meanwhile then
    // costs no SIGPIPE, and the wait below sees it exit.
    if (parent_maps) {
        write_child_maps(init, plan.identity.map_writer, plan.identity.uid_map,
                         plan.identity.gid_map, plan.identity.newuidmap, plan.identity.newgidmap);
        check(::write(maps.w.get(), "1", 1), "start the container");
    }
    maps = Pipe{};
    net_theirs.reset();
    // Once the container is over, kakuri returns only after pasta: no port it published is
    // bound any more.
    UniqueFd keeper;
    if (net_ours) keeper = start_private_net(plan, init, net_ours.get(), hooks.net_hold);

    auto ready = [&] {
        try {
            if (hooks.on_ready) hooks.on_ready(init.pid());
            if (hooks.detach && hooks.hold >= 0) {
                Pidfd pidfd(init.pid(), process_start_time(init.pid()));
                if (!pidfd) throw Error("the container's init is gone before it was ready");
                hold_until_exit(pidfd.fd(), hooks.hold);
            }
        } catch (...) {
            init.kill_and_reap();
            throw;
        }
        if (hooks.detach || hooks.on_ready)
            check(::write(alive.w.get(), "1", 1), "release the container");
        return !hooks.detach;
    };
    Attendant side(tty_mask, UniqueFd(), std::move(sock.ours), std::move(err.r), ready);
    std::optional<int> status = init.forward_until_exit(sigs, side);
    if (status && keeper) {
        std::string none;
        read_all(keeper.get(), none);
    }
    RunResult r = side.finish(status);
    if (cgroup && hooks.detach && !r.error) cgroup->keep();  // it outlives kakuri
    // The command killed (SIGKILL) where the kernel killed for want of memory.
    if (cgroup && !hooks.detach && !r.error && r.code == 128 + SIGKILL && cgroup->oom_kills())
        r.error = Error::told("the container ran out of memory (--memory " +
                                  format_limit_size(plan.policy.limits.memory) + ")",
                              0, r.code);
    return r;
}

RunResult exec_in_container(const Plan& plan, pid_t pid, uint64_t start_time,
                            const Namespaces& recorded) {
    join_container(plan, pid, start_time, recorded);
    Pipe err = make_pipe();
    ForwardedSignals sigs;
    // A terminal on 0-2: the command gets a new pty of the container's devpts (we are
    // in its mount namespace now), never the caller's terminal. The first process inside
    // leads its session and reports the command's stops on a socket (see exec_child_main).
    const unsigned tty_mask = terminal_fds();
    UniqueFd master, slave;
    if (tty_mask) master = open_container_pty(slave, first_terminal(tty_mask));
    SessionSockets sock = session_sockets(tty_mask);
    // The first process we make is in the container's PID namespace. Without a terminal it is
    // the command, made with vfork (vfork_command): until its exec it is kakuri's memory, no
    // more inside than kakuri, which has joined and holds the environment too; the signalfd and
    // the pipe's read end are close-on-exec.
    Child child;
    if (!tty_mask) {
        CommandSetup cs = caller_setup(sigs.caller_mask());
        cs.own_session = true;
        child = Child(vfork_command(plan, err.w.get(), cs));
        if (child.pid() < 0) throw Error("fork", errno);
    } else {
        child = Child::spawn(0, "fork", [&] {
            sigs.close_in_child();
            err.r.reset();
            master.reset();
            sock.ours.reset();
            exec_child_main({plan, err.w.release(), sigs.caller_mask(), tty_mask, slave.release(),
                             sock.theirs.release()});
        });
    }
    err.w.reset();
    slave.reset();
    sock.theirs.reset();
    Attendant side(tty_mask, std::move(master), std::move(sock.ours), std::move(err.r));
    return side.finish(child.forward_until_exit(sigs, side));
}

}  // namespace kakuri
