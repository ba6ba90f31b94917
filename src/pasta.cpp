// pasta: starting pasta for a container's network namespace, and the keeper that ends it.
//
// kakuri ──fork──> (exits) ──fork──> keeper (own session, subreaper) ──fork+exec──> pasta
//                                        └ polls init's pidfd; init gone: SIGKILL to pasta
// pasta runs in the foreground as the keeper's child, with the keeper's death as its own
// (PR_SET_PDEATHSIG): whichever of kakuri, the keeper and init is killed, no pasta outlives
// them with a port bound. It says it is ready by writing its pid (--pid) on the keeper's pipe.
#include "pasta.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "paths.hpp"
#include "supervise.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

// In the keeper's own mount namespace: a tmpfs of its own (see stage).
constexpr const char* kStage = "/tmp";

// Host root's, and writable by nobody else (nor the directory it is in).
bool roots_only(const struct stat& st) {
    return st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

// As real root pasta runs as root with CAP_SYS_ADMIN over the host: a candidate from the
// caller's PATH that someone else could have put or replaced there is passed over.
std::string find_program(const char* name) {
    const char* path = getenv("PATH");
    const bool root = geteuid() == 0;
    for (const std::string& dir : split(path && *path ? path : "/usr/bin:/bin", ':')) {
        if (dir.empty() || dir[0] != '/') continue;
        std::string p = dir + "/" + name;
        struct stat st, dst;
        if (stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || access(p.c_str(), X_OK) != 0)
            continue;
        if (root && (!roots_only(st) || stat(dir.c_str(), &dst) != 0 || !roots_only(dst))) continue;
        return p;
    }
    return "";
}

std::string tun_mode() {
    struct stat st;
    if (stat("/dev/net/tun", &st) != 0) return "missing";
    char buf[16];
    snprintf(buf, sizeof buf, "%04o", st.st_mode & 07777);
    return buf;
}

// What binding a published host port as the caller gives, as pasta (which has no privilege
// over the host's network but the caller's) bound it: 0 or the errno.
int bind_errno(const std::string& ip, unsigned port, bool udp) {
    UniqueFd s(::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
    if (!s) return errno;
    int one = 1;
    setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return EINVAL;
    return bind(s.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0 ? 0 : errno;
}

std::string unprivileged_start() {
    std::string text;
    if (!read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", text) || text.empty())
        return "1024";
    return text.substr(0, text.find('\n'));
}

struct Keeper {
    const Plan& plan;
    std::string pasta;
    int init_pidfd, netns, report, err, held, hold;
};

// The keeper holds nothing of kakuri's but what it is handed (moved to 3-8): no pipe of
// init's stays open through it, no terminal of the caller's.
void keep_only_own_fds(Keeper& k) {
    int* mine[] = {&k.init_pidfd, &k.netns, &k.report, &k.err, &k.held, &k.hold};
    for (int* f : mine)
        if (*f >= 0) *f = check(fcntl(*f, F_DUPFD_CLOEXEC, 100), "move the keeper's fds");
    int at = 3;
    for (int* f : mine) {
        if (*f < 0) continue;
        check(dup3(*f, at, O_CLOEXEC), "move the keeper's fds");
        *f = at++;
    }
    sys_close_range(at, ~0U, 0);
    int null = check(::open("/dev/null", O_RDWR), "open /dev/null");
    for (int i = 0; i < 3; ++i) dup2(null, i);
    if (null > 2) ::close(null);
}

// Not root in the user namespace (--user maps only the caller's ids), the keeper's
// capabilities there would be gone at pasta's exec: the ones pasta keeps for itself (it drops
// the rest) are made ambient, so that they cross it (capabilities(7)).
void keep_caps_over_exec() {
    static const int kPastaCaps[] = {CAP_NET_BIND_SERVICE, CAP_SETUID,    CAP_SETGID,
                                     CAP_SYS_ADMIN,        CAP_NET_ADMIN, CAP_SYS_PTRACE};
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {};
    check(syscall(SYS_capget, &head, data), "read the keeper's capabilities");
    for (int c : kPastaCaps) data[c / 32].inheritable |= 1u << (c % 32);
    check(syscall(SYS_capset, &head, data), "make the keeper's capabilities inheritable");
    for (int c : kPastaCaps)
        check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0), "keep a capability for pasta");
}

// What pasta finds: the container's network namespace and the resolv.conf that names the
// chosen DNS upstream (pasta forwards queries to the first nameserver of the one it reads). In
// a user namespace the keeper joins it first (pasta then is root there, with the namespace's
// maps: the caller's ids outside); as real root pasta stays root (--runas 0: only real root may
// enter a network namespace no user namespace of the caller's owns). pasta joins the namespace
// through the keeper's fd of it, which init passed (no path by pid, which could be reused).
void stage(const Keeper& k) {
    const PrivateNet& net = k.plan.policy.net;
    if (k.plan.identity.userns) {
        check(setns(k.init_pidfd, CLONE_NEWUSER), "join the user namespace");
        // The namespace's root where it is mapped (as real root with --userns the keeper's own
        // ids are not: pasta would take the overflow id, and fail to set it); elsewhere the
        // caller's ids, mapped to themselves (--user).
        if (setresgid(0, 0, 0) != 0 && errno != EINVAL) throw Error("set the keeper's gid", errno);
        if (setresuid(0, 0, 0) != 0 && errno != EINVAL) throw Error("set the keeper's uid", errno);
        if (geteuid() != 0) keep_caps_over_exec();
    }
    if (!net.dns.empty()) {
        check(unshare(CLONE_NEWNS), "make the keeper's mount namespace");
        check(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
              "make the keeper's mounts private");
        check(mount("tmpfs", kStage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755"),
              std::string("mount the keeper's tmpfs on ") + kStage);
        std::string file = std::string(kStage) + "/resolv.conf";
        UniqueFd f(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
        if (!f) throw Error("create " + file, errno);
        const std::string text = "nameserver " + net.dns + "\n";
        if (::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw Error("write " + file, errno);
        check(mount(file.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr),
              "show pasta the DNS upstream (bind over /etc/resolv.conf)");
    }
}

// The keeper's children (pasta, and whatever of its was reparented to the keeper), killed and
// reaped.
void end_children() {
    for (;;) {
        std::string text;
        read_file("/proc/self/task/" + std::to_string(getpid()) + "/children", text);
        std::istringstream in(text);
        bool any = false;
        for (pid_t pid; in >> pid;) {
            any = true;
            kill(pid, SIGKILL);
        }
        if (!any && waitpid(-1, nullptr, WNOHANG) <= 0) break;
        while (waitpid(-1, nullptr, 0) > 0) {
        }
    }
}

void say(int fd, const std::string& text) {
    (void)!::write(fd, text.data(), text.size());
}

// What pasta says on out until it is ready (a line on ready, its pid) or gone (end of file
// on ready): true when ready. Its stderr is kept in said.
bool await_pasta(int ready, int out, std::string& said) {
    std::string pid;
    struct pollfd pfd[2] = {{ready, POLLIN, 0}, {out, POLLIN, 0}};
    char buf[4096];
    while (pfd[0].fd >= 0) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw Error("wait for pasta", errno);
        }
        for (int i = 0; i < 2; ++i) {
            if (!pfd[i].revents) continue;
            ssize_t n = ::read(pfd[i].fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                pfd[i].fd = -1;
                continue;
            }
            if (i == 0) {
                pid.append(buf, n);
                if (pid.find('\n') != std::string::npos) return true;
            } else if (said.size() < 16384) {
                said.append(buf, n);
            }
        }
    }
    // pasta is gone: the rest of what it said.
    if (pfd[1].fd >= 0) {
        std::string rest;
        read_all(out, rest);
        said += rest;
    }
    return false;
}

// pasta's stderr read and dropped (it must not block on a full pipe) until init is gone.
void await_init(int init_pidfd, int out) {
    struct pollfd pfd[2] = {{init_pidfd, POLLIN, 0}, {out, POLLIN, 0}};
    char buf[4096];
    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw Error("wait for the container's init", errno);
        }
        if (pfd[0].revents) return;
        if (pfd[1].revents && ::read(out, buf, sizeof buf) <= 0) pfd[1].fd = -1;
    }
}

// Init gone, what the container's TCP connections have in flight goes out through pasta
// before it ends (a server that wrote its reply and exited loses no tail of it): the keeper
// waits, in the container's network namespace, until no connection there holds a byte (or a
// FIN) that pasta has not taken. pasta acknowledges what comes from its interface once it has
// written it to the host's socket; a connection from the host's loopback it splices through a
// socket of its own in the namespace, and that socket's unread bytes count too. With a
// connection still open, nothing in flight twice in a row, 10 ms apart (pasta passes on what
// it read at once); at most kDrainMs: a peer that stops reading cannot keep a port bound.
constexpr int kDrainMs = 5000;
void drain(int netns) {
    if (setns(netns, CLONE_NEWNET) != 0) return;
    int idle = 0;
    for (int waited = 0; waited < kDrainMs; waited += 10) {
        std::string v4, v6;
        read_file("/proc/self/net/tcp", v4);
        read_file("/proc/self/net/tcp6", v6);
        int open = 0;
        const uint64_t left = tcp_undelivered(v4, &open) + tcp_undelivered(v6, &open);
        idle = left == 0 ? idle + 1 : 0;
        if (open == 0 || idle == 2) return;
        poll(nullptr, 0, 10);
    }
}

[[noreturn]] void keeper_main(Keeper& k) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // pasta refuses to start with SIGPIPE already ignored (it checks signal()'s old value).
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    setsid();
    try {
        keep_only_own_fds(k);
        check(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "make the keeper a subreaper");
        stage(k);
        const int ns_fd = k.netns;
        // pasta gets the namespace as its fd 3, the pipe for its pid as 4.
        std::vector<std::string> args =
            pasta_arguments(k.plan.policy.net, "/proc/self/fd/3", "/proc/self/fd/4");
        args.insert(args.begin(), "pasta");
        if (!k.plan.identity.userns) args.insert(args.begin() + 1, {"--runas", "0:0"});
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        Pipe ready = make_pipe(), out = make_pipe();
        const pid_t keeper = getpid();
        pid_t p = fork();
        if (p < 0) throw Error("fork pasta", errno);
        if (p == 0) {
            // The keeper's death is pasta's (kept across the exec: pasta is neither set-id nor
            // file-capable, and keeps its ids); a keeper already gone means no pasta.
            if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != keeper) _exit(1);
            int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(out.w.get(), STDERR_FILENO);
            // Only the namespace and the pipe for its pid go to pasta, as 3 and 4.
            int ns = fcntl(ns_fd, F_DUPFD_CLOEXEC, 10), pid = fcntl(ready.w.get(), F_DUPFD, 10);
            if (ns < 0 || pid < 0 || dup2(ns, 3) != 3 || dup2(pid, 4) != 4) _exit(127);
            sys_close_range(5, ~0U, 0);
            // Nothing of the caller's environment (its credentials among it) goes to pasta.
            char* const no_env[] = {nullptr};
            execve(k.pasta.c_str(), argv.data(), no_env);
            say(STDERR_FILENO, "exec " + k.pasta + ": " + strerror(errno) + "\n");
            _exit(127);
        }
        ready.w.reset();
        out.w.reset();
        std::string said;
        if (!await_pasta(ready.r.get(), out.r.get(), said)) {
            int status = 0;
            while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
            }
            // Within a pipe's capacity: kakuri reads it after the report.
            say(k.err, said.substr(0, 16384));
            ::close(k.err);
            const int code = shell_status(status);
            say(k.report, std::to_string(code == 0 ? 1 : code));
            ::close(k.report);
            end_children();
            _exit(1);
        }
        ::close(k.err);
        say(k.report, "0");
        ::close(k.report);
        await_init(k.init_pidfd, out.r.get());
        drain(ns_fd);
        end_children();
        _exit(0);
    } catch (const std::exception& e) {
        say(k.report, std::string("kakuri: ") + one_line(e.what()));
        ::close(k.report);
        end_children();
        _exit(1);
    }
}

}  // namespace

std::string publish_failure(const std::string& host_ip, unsigned port, bool udp, int err,
                            const std::string& unprivileged_start) {
    const std::string what = host_ip + ":" + std::to_string(port) + (udp ? "/udp" : "/tcp");
    switch (err) {
    case 0:  // free again since pasta tried
    case EADDRINUSE:
        return "--publish: host port " + what + " is in use (by another program or container)";
    case EACCES:
        return "--publish: host port " + what + " is privileged: a port below " +
               unprivileged_start + " (net.ipv4.ip_unprivileged_port_start) takes root to bind";
    case EADDRNOTAVAIL:
        return "--publish: " + host_ip + " is not an address of this host (host port " + what + ")";
    default: return "--publish: host port " + what + " cannot be bound: " + strerror(err);
    }
}

std::string pasta_failure(
    const std::string& text, const std::string& mode,
    const std::function<std::string(const std::string&, unsigned, bool)>& bind_failure) {
    std::string last;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        // pasta also logs to syslog, and says so where there is none.
        if (line.empty() || line.rfind("Failed to send ", 0) == 0) continue;
        // Before it knows its log level, pasta stamps its lines "SECONDS.FRACTION: ".
        size_t stamp = line.find_first_not_of("0123456789.");
        if (stamp != std::string::npos && stamp > 0 && line.compare(stamp, 2, ": ") == 0)
            line = line.substr(stamp + 2);
        if (line.find("Failed to open tun socket") != std::string::npos)
            return "--network=private: pasta cannot open /dev/net/tun (mode " + mode +
                   "): it must be readable and writable by all, as udev makes it on standard "
                   "distributions (chmod 0666 /dev/net/tun)";
        const std::string bind = "Failed to bind any port for '-";
        size_t at = line.find(bind);
        if (at != std::string::npos && line.size() > at + bind.size() + 2) {
            const bool udp = line[at + bind.size()] == 'u';
            std::string spec = line.substr(at + bind.size() + 2);
            spec = spec.substr(0, spec.find('\''));  // ADDRESS/PORT:PORT
            const size_t slash = spec.find('/');
            if (slash != std::string::npos)
                return bind_failure(spec.substr(0, slash),
                                    static_cast<unsigned>(atoi(spec.c_str() + slash + 1)), udp);
        }
        last = line;
    }
    return "--network=private: pasta failed" + (last.empty() ? std::string() : ": " + last);
}

uint64_t tcp_undelivered(const std::string& table, int* open) {
    uint64_t total = 0;
    std::istringstream in(table);
    std::string line;
    std::getline(in, line);  // the heading
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string slot, local, remote, state, queues;
        if (!(f >> slot >> local >> remote >> state >> queues)) continue;
        if (state == "0A") continue;  // TCP_LISTEN: its queues count connections
        if (open && state != "06" && state != "07") ++*open;  // TIME_WAIT, CLOSE
        const size_t colon = queues.find(':');
        if (colon == std::string::npos) continue;
        total += strtoull(queues.substr(0, colon).c_str(), nullptr, 16) +
                 strtoull(queues.substr(colon + 1).c_str(), nullptr, 16);
    }
    return total;
}

int udp_bound(const std::string& table, const std::string& address, unsigned port) {
    uint32_t want = 0;
    if (inet_pton(AF_INET, address.c_str(), &want) != 1) return 0;
    char mine[16], any[16];
    snprintf(mine, sizeof mine, "%08X:%04X", want, port);
    snprintf(any, sizeof any, "%08X:%04X", 0u, port);
    int n = 0;
    std::istringstream in(table);
    std::string line;
    std::getline(in, line);  // the heading
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string slot, local;
        if (!(f >> slot >> local)) continue;
        n += local == mine || local == any;
    }
    return n;
}

UniqueFd connect_private_net(const Plan& plan, int netns, int init_pidfd, int hold,
                             const std::function<void()>& end_container) {
    // The keeper holds held's writing end until it has ended pasta: on a failure kakuri waits
    // for that, so that no port stays bound after kakuri has said why.
    Pipe held = make_pipe();
    auto fail = [&](const std::string& what) -> Error {
        end_container();
        held.w.reset();
        std::string none;
        read_all(held.r.get(), none);
        return Error::told(what, 0, 125);
    };
    const std::string pasta = find_program("pasta");
    if (pasta.empty())
        throw fail(
            "--network=private needs pasta, which is not installed: install the passt package");
    Pipe report = make_pipe(), err = make_pipe();
    pid_t t = fork();
    if (t < 0) throw fail(std::string("fork pasta's keeper: ") + strerror(errno));
    if (t == 0) {
        // The keeper is no child of kakuri's: nothing kakuri waits for, and it outlives kakuri.
        report.r.reset();
        err.r.reset();
        held.r.reset();
        pid_t k = fork();
        if (k != 0) _exit(k < 0 ? 1 : 0);
        Keeper keeper{
            plan, pasta, init_pidfd, netns, report.w.release(), err.w.release(), held.w.release(),
            hold};
        keeper_main(keeper);
    }
    report.w.reset();
    err.w.reset();
    held.w.reset();
    int status = 0;
    while (waitpid(t, &status, 0) < 0 && errno == EINTR) {
    }
    std::string said;
    read_all(report.r.get(), said);
    if (said == "0") {
        // pasta binds with SO_REUSEADDR: for UDP that lets two containers take one port.
        std::string table;
        for (const auto& pub : plan.policy.net.publish) {
            if (!pub.udp) continue;
            if (table.empty() && !read_file("/proc/net/udp", table))
                throw fail("read /proc/net/udp: " + std::string(strerror(errno)));
            for (unsigned i = 0; i < pub.count; ++i)
                if (udp_bound(table, pub.host_ip, pub.host_port + i) > 1)
                    throw fail(publish_failure(pub.host_ip, pub.host_port + i, true, EADDRINUSE,
                                               unprivileged_start()));
        }
        return std::move(held.r);
    }
    if (said.rfind("kakuri: ", 0) == 0) throw fail(said.substr(8));
    if (said.empty())
        throw fail(
            "--network=private: the process that runs pasta ended before the network was up");
    std::string text;
    read_all(err.r.get(), text);
    throw fail(pasta_failure(text, tun_mode(), [](const std::string& ip, unsigned port, bool udp) {
        return publish_failure(ip, port, udp, bind_errno(ip, port, udp), unprivileged_start());
    }));
}

}  // namespace kakuri
