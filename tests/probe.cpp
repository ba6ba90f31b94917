// probe: run inside containers by the integration tests; reports facts as
// key=value lines so tests compare exact values instead of grepping shell output.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

const char* errname(int e) {
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case EBADF: return "EBADF";
    case ENOTDIR: return "ENOTDIR";
    default: return strerrorname_np(e) ? strerrorname_np(e) : "E?";
    }
}

int ids() {
    printf("uid=%u\ngid=%u\neuid=%u\n", getuid(), getgid(), geteuid());
    gid_t g[64];
    int n = getgroups(64, g);
    printf("groups=");
    for (int i = 0; i < n; ++i) printf(i ? ",%u" : "%u", g[i]);
    printf("\n");
    return 0;
}

int pids() {
    printf("pid=%d\nppid=%d\n", getpid(), getppid());
    int n = 0;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9') ++n;
        closedir(d);
    }
    printf("processes=%d\n", n);
    return 0;
}

int fds() {
    std::string out;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
            out += out.empty() ? "" : ",";
            out += e->d_name;
        }
        closedir(d);
    }
    printf("fds=%s\n", out.c_str());
    return 0;
}

int netifs() {
    std::string out;
    struct if_nameindex* ifs = if_nameindex();
    for (auto* i = ifs; i && i->if_index; ++i) {
        out += out.empty() ? "" : ",";
        out += i->if_name;
    }
    if (ifs) if_freenameindex(ifs);
    printf("netifs=%s\n", out.c_str());
    return 0;
}

// Try to write (create or append) a file; report the errno.
int write_file(const char* path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0) {
        if (write(fd, "probe\n", 6) != 6) e = errno;
        close(fd);
    }
    printf("write=%s\n", errname(e));
    return 0;
}

// What each path is (following links), or the errno of stat: "PATH=dir|file|chr|sock|other".
// The paths are the arguments and those in $PROBE_PATHS (colon-separated), which kakuri's
// automatic mounting does not look at.
int stat_paths(int n, char** args) {
    std::vector<std::string> paths(args, args + n);
    if (const char* more = getenv("PROBE_PATHS")) {
        std::string s = more;
        for (size_t i = 0; i <= s.size();) {
            size_t j = s.find(':', i);
            if (j == std::string::npos) j = s.size();
            if (j > i) paths.push_back(s.substr(i, j - i));
            i = j + 1;
        }
    }
    for (const auto& p : paths) {
        struct stat st;
        if (stat(p.c_str(), &st) != 0) {
            printf("%s=%s\n", p.c_str(), errname(errno));
            continue;
        }
        const mode_t t = st.st_mode & S_IFMT;
        printf("%s=%s\n", p.c_str(),
               t == S_IFDIR    ? "dir"
               : t == S_IFREG  ? "file"
               : t == S_IFCHR  ? "chr"
               : t == S_IFSOCK ? "sock"
                               : "other");
    }
    return 0;
}

int rename_path(const char* from, const char* to) {
    int e = rename(from, to) == 0 ? 0 : errno;
    printf("rename=%s\n", errname(e));
    return 0;
}

int mkdir_p(const char* path) {
    int e = mkdir(path, 0755) == 0 ? 0 : errno;
    printf("mkdir=%s\n", errname(e));
    return 0;
}

// An orphaned grandchild must be reaped by the container's init: wait until
// its /proc entry is gone (bounded), which only happens once it is reaped.
int orphan() {
    int p[2];
    if (pipe(p) != 0) return 2;
    pid_t child = fork();
    if (child == 0) {
        pid_t gc = fork();
        if (gc == 0) {
            close(p[0]);
            close(p[1]);
            _exit(0);
        }
        dprintf(p[1], "%d\n", gc);
        _exit(0);
    }
    close(p[1]);
    char buf[32] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    if (n <= 0) return 2;
    waitpid(child, nullptr, 0);
    int gc = atoi(buf);
    std::string path = "/proc/" + std::to_string(gc);
    for (int i = 0; i < 5000; ++i) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0) {
            printf("orphan_reaped=1\n");
            return 0;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, nullptr);
    }
    printf("orphan_reaped=0\n");
    return 0;
}

// Blocked syscalls, called with harmless arguments; errno of each, natively and
// through the i386 ABI (int 0x80 from this 64-bit process: the filter must
// cover that ABI too). With seccomp off, the kernel's own answer differs for most.
long i386_syscall(long nr, long a = 0, long b = 0, long c = 0) {
#if defined(__x86_64__)
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
#else
    (void)nr;
    (void)a;
    (void)b;
    (void)c;
    return -ENOSYS;
#endif
}

// Some kernels (ia32_emulation=0, some hypervisors) refuse int 0x80 outright with
// SIGSEGV before any filter runs: that ABI is then no way in. Tried in a child.
bool i386_abi_available() {
    pid_t p = fork();
    if (p == 0) _exit(i386_syscall(20 /* getpid */) > 0 ? 0 : 1);
    int status = 0;
    if (p < 0 || waitpid(p, &status, 0) != p) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int syscalls() {
    struct Call {
        const char* name;
        long nr64;
        long nr32;
        long a, b, c;
    };
    const Call calls[] = {
        {"keyctl", SYS_keyctl, 288, 0, 0, 0},
        {"add_key", SYS_add_key, 286, 0, 0, 0},
        {"request_key", SYS_request_key, 287, 0, 0, 0},
        {"bpf", SYS_bpf, 357, -1, 0, 0},
        {"perf_event_open", SYS_perf_event_open, 336, 0, 0, 0},
        {"userfaultfd", SYS_userfaultfd, 374, 0, 0, 0},
        {"open_by_handle_at", SYS_open_by_handle_at, 342, -1, 0, 0},
        {"kexec_load", SYS_kexec_load, 283, 0, 0, 0},
        {"init_module", SYS_init_module, 128, 0, 0, 0},
        {"finit_module", SYS_finit_module, 350, -1, 0, 0},
        {"delete_module", SYS_delete_module, 129, 0, 0, 0},
        {"reboot", SYS_reboot, 88, 0, 0, 0},
        {"swapon", SYS_swapon, 87, 0, 0, 0},
        {"swapoff", SYS_swapoff, 115, 0, 0, 0},
        {"settimeofday", SYS_settimeofday, 79, 0, 0, 0},
        {"clock_settime", SYS_clock_settime, 264, -1, 0, 0},
        {"acct", SYS_acct, 51, 0, 0, 0},
        {"quotactl", SYS_quotactl, 131, 0, 0, 0},
        {"mount", SYS_mount, 21, 0, 0, 0},
        {"umount2", SYS_umount2, 52, 0, 0, 0},
        {"pivot_root", SYS_pivot_root, 217, 0, 0, 0},
        {"unshare_newuser", SYS_unshare, 310, CLONE_NEWUSER, 0, 0},
        {"clone3", SYS_clone3, 435, 0, 0, 0},
        {"fsopen", SYS_fsopen, 430, 0, 0, 0},
        {"open_tree", SYS_open_tree, 428, -1, 0, 0},
    };
    const bool i386 = i386_abi_available();
    printf("i386_abi=%s\n", i386 ? "available" : "unavailable");
    for (const auto& c : calls) {
        long r = syscall(c.nr64, c.a, c.b, c.c);
        printf("%s=%s\n", c.name, errname(r < 0 ? errno : 0));
        if (!i386) continue;
        long r32 = i386_syscall(c.nr32, c.a, c.b, c.c);
        printf("i386_%s=%s\n", c.name, errname(r32 < 0 ? static_cast<int>(-r32) : 0));
    }
    return 0;
}

// Push a character into our terminal's input: plain TIOCSTI, and with a high
// bit set in the request (the kernel ignores the upper 32 bits).
int tiocsti() {
    char c = '#';
    int r = ioctl(0, TIOCSTI, &c);
    printf("tiocsti=%s\n", errname(r < 0 ? errno : 0));
    r = static_cast<int>(syscall(SYS_ioctl, 0, 0x100000000UL | TIOCSTI, &c));
    printf("tiocsti_high=%s\n", errname(r < 0 ? errno : 0));
    r = static_cast<int>(syscall(SYS_ioctl, 0, TIOCLINUX, &c));
    printf("tioclinux=%s\n", errname(r < 0 ? errno : 0));
    return 0;
}

// Try to open every /proc/N/exe for writing (the runc /proc/self/exe attack).
int exe_attack() {
    int opened = 0, tried = 0;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
            std::string p = std::string("/proc/") + e->d_name + "/exe";
            ++tried;
            int fd = open(p.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
            if (fd >= 0) {
                ++opened;
                if (write(fd, "x", 1) == 1) printf("wrote=%s\n", p.c_str());
                close(fd);
            }
        }
        closedir(d);
    }
    int fd = open("/proc/1/exe", O_RDONLY | O_CLOEXEC);
    printf("exe_tried=%d\nexe_opened_for_write=%d\nread_init_exe=%s\n", tried, opened,
           errname(fd < 0 ? errno : 0));
    return 0;
}

int status_line(const char* key, const char* pid = "self", const char* prefix = "") {
    FILE* f = fopen((std::string("/proc/") + pid + "/status").c_str(), "re");
    if (!f) return 2;
    char line[256];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            char* v = line + kl + 1;
            while (*v == ' ' || *v == '\t') ++v;
            printf("%s%s=%s", prefix, key, v);
        }
    fclose(f);
    return 0;
}

// The CVE-2019-5736 attack on whatever kakuri runs inside: the FIFO is a file the
// next kakuri started inside will read (its config); once kakuri blocks on it, every
// process but us and init is a kakuri: hold each one's /proc/PID/exe, let kakuri go,
// wait until it is gone, then until the test says the user's kakuri is gone too (it
// opens FIFO.done for writing: the binary is no longer busy anywhere), and try to write
// what it ran.
int exe_grab(const char* fifo) {
    alarm(60);  // a safety net only: the test fails on a missing "grabbed" line
    int w = open(fifo, O_WRONLY | O_CLOEXEC);  // blocks until kakuri opens it
    if (w < 0) {
        printf("fifo=%s\n", errname(errno));
        return 1;
    }
    struct Held {
        int pid;
        int exe;
        int pidfd;
    };
    std::vector<Held> held;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            int pid = atoi(e->d_name);
            if (pid <= 1 || pid == getpid()) continue;
            std::string p = std::string("/proc/") + e->d_name + "/exe";
            int exe = open(p.c_str(), O_PATH | O_CLOEXEC);
            if (exe < 0) continue;
            held.push_back({pid, exe, static_cast<int>(syscall(SYS_pidfd_open, pid, 0))});
        }
        closedir(d);
    }
    close(w);  // kakuri reads an empty config and goes on
    printf("grabbed=%zu\n", held.size());
    fflush(stdout);
    for (const auto& h : held) {
        struct pollfd pfd = {h.pidfd, POLLIN, 0};
        if (h.pidfd >= 0) poll(&pfd, 1, -1);
    }
    int done = open((std::string(fifo) + ".done").c_str(),
                    O_RDONLY | O_CLOEXEC);  // blocks until the test opens it
    if (done >= 0) close(done);
    for (const auto& h : held) {
        struct stat st;
        fstat(h.exe, &st);
        printf("exe_ino=%lu\n", static_cast<unsigned long>(st.st_ino));
        std::string again = "/proc/self/fd/" + std::to_string(h.exe);
        int fd = open(again.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            printf("reopen=%s\n", errname(errno));
            continue;
        }
        ssize_t n = write(fd, "#!/bin/sh\n", 10);
        printf("reopen=0\nwrite=%s\n", errname(n < 0 ? errno : 0));
        close(fd);
    }
    fflush(stdout);
    return 0;
}

// Try to trace init: the confinement it has is all a tracer could reach through it.
int ptrace_init() {
    long r = ptrace(PTRACE_ATTACH, 1, nullptr, nullptr);
    printf("attach=%s\n", errname(r < 0 ? errno : 0));
    if (r == 0) {
        int status;
        waitpid(1, &status, __WALL);
        ptrace(PTRACE_DETACH, 1, nullptr, nullptr);
    }
    for (const char* k : {"CapPrm", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp"}) {
        status_line(k, "1", "init_");
        status_line(k, "self", "self_");
    }
    struct stat pts;
    if (stat("/dev/pts/ptmx", &pts) == 0)
        printf("pts_dev=%lu\n", static_cast<unsigned long>(pts.st_dev));
    if (DIR* d = opendir("/proc/1/fd")) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            char buf[512];
            ssize_t n = readlinkat(dirfd(d), e->d_name, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            struct stat st;
            unsigned long dev = fstatat(dirfd(d), e->d_name, &st, 0) == 0 ? st.st_dev : 0;
            printf("init_fd_%s=%s dev=%lu\n", e->d_name, buf, dev);
        }
        closedir(d);
    } else {
        printf("init_fds=%s\n", errname(errno));
    }
    return 0;
}

// What a process inside can find in init's memory (with "parent": in its parent's, the
// session leader of an interactive exec), a copy of kakuri's that held the caller's whole
// environment, of the needles read from stdin, one a line (not from argv: the command line is
// in that memory too, in the plan): /proc/PID/environ, then every readable mapping of
// /proc/PID/mem. Reports each one's errno, the bytes read and the needles found.
int init_memory(const std::string& which) {
    const std::string proc =
        "/proc/" + (which == "parent" ? std::to_string(getppid()) : std::string("1"));
    if (isatty(0)) {
        printf("needles?\n");  // the test types them once the terminal is relayed
        fflush(stdout);
    }
    std::vector<std::string> needles;
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        std::string n(line);
        while (!n.empty() && n.back() == '\n') n.pop_back();
        if (!n.empty()) needles.push_back(n);
    }
    std::string found;
    auto search = [&](const std::string& text) {
        for (auto& n : needles) {
            if (n.empty() || text.find(n) == std::string::npos) continue;
            found += (found.empty() ? "" : ",") + n;
            n.clear();  // once
        }
    };
    int fd = open((proc + "/environ").c_str(), O_RDONLY | O_CLOEXEC);
    printf("init_environ=%s\n", errname(fd < 0 ? errno : 0));
    if (fd >= 0) {
        std::string text;
        char buf[4096];
        for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, n);
        search(text);
        close(fd);
    }
    long scanned = 0;
    fd = open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    printf("init_mem=%s\n", errname(fd < 0 ? errno : 0));
    FILE* maps = fd >= 0 ? fopen((proc + "/maps").c_str(), "re") : nullptr;
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r') continue;
        // A sanitizer's shadow memory spans terabytes of untouched pages: no environment
        // copy lives there. Everything else is read in chunks that overlap by a needle.
        if (hi - lo > (1UL << 30)) continue;
        const size_t chunk = 1 << 20, overlap = 512;
        std::string buf(chunk + overlap, '\0');
        std::string carry;
        for (unsigned long at = lo; at < hi; at += chunk) {
            size_t want = std::min<unsigned long>(chunk, hi - at);
            ssize_t n = pread(fd, &buf[0], want, static_cast<off_t>(at));
            if (n <= 0) break;  // [vvar] and the like
            scanned += n;
            std::string text = carry + buf.substr(0, static_cast<size_t>(n));
            search(text);
            carry = text.substr(text.size() > overlap ? text.size() - overlap : 0);
        }
    }
    if (maps) fclose(maps);
    if (fd >= 0) close(fd);
    printf("init_scanned=%ld\ninit_found=%s\n", scanned, found.c_str());
    return 0;
}

volatile sig_atomic_t got = 0;
void on_signal(int s) {
    got = s;
}

// Say "ready", then wait for one signal: handled (prints it, exits 42) or, with
// "default", left to its default action (the process dies of it).
int wait_signal(bool handle) {
    if (handle) {
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        for (int s : {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2})
            sigaction(s, &sa, nullptr);
    }
    printf("ready\n");
    fflush(stdout);
    while (!got) pause();
    printf("signal=%s\n", sigabbrev_np(got));
    fflush(stdout);
    return 42;
}

}  // namespace

int main(int argc, char** argv) {
    std::string cmd = argc > 1 ? argv[1] : "";
    const char* arg = argc > 2 ? argv[2] : "";
    if (cmd == "ids") return ids();
    if (cmd == "pids") return pids();
    if (cmd == "fds") return fds();
    if (cmd == "netifs") return netifs();
    if (cmd == "write") return write_file(arg);
    if (cmd == "mkdir") return mkdir_p(arg);
    if (cmd == "stat") return stat_paths(argc - 2, argv + 2);
    if (cmd == "rename") return rename_path(arg, argc > 3 ? argv[3] : "");
    if (cmd == "orphan") return orphan();
    if (cmd == "wait-signal") return wait_signal(true);
    if (cmd == "wait-default") return wait_signal(false);
    if (cmd == "status") {
        for (const char* k :
             {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"})
            status_line(k);
        return 0;
    }
    if (cmd == "cwd") {
        char buf[4096];
        printf("cwd=%s\n", getcwd(buf, sizeof buf) ? buf : "?");
        return 0;
    }
    if (cmd == "hostname") {
        char buf[256] = {0};
        gethostname(buf, sizeof buf - 1);
        printf("hostname=%s\n", buf);
        return 0;
    }
    if (cmd == "exit") return atoi(arg);
    if (cmd == "syscalls") return syscalls();
    if (cmd == "tiocsti") return tiocsti();
    if (cmd == "exe-attack") return exe_attack();
    if (cmd == "exe-grab") return exe_grab(arg);
    if (cmd == "ptrace-init") return ptrace_init();
    if (cmd == "init-memory") return init_memory(arg);
    fprintf(stderr, "probe: unknown command '%s'\n", cmd.c_str());
    return 2;
}
