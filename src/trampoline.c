/* trampoline: the last step before a command runs, as a program of its own that kakuri keeps in a
 * sealed memfd (CVE-2019-5736).
 *
 * The process that execs a container's command is a fork of kakuri: its /proc/self/exe is the
 * kakuri binary on the host. A command whose interpreter is /proc/self/exe (a script's #!, an
 * ELF's PT_INTERP) would make the kernel run that binary inside the container, where a process
 * may hold its /proc/PID/exe and reopen it for writing. So kakuri first execs this program from
 * a sealed memfd; from then on /proc/self/exe is that memfd, which no one can write, and this
 * program execs the command: an interpreter of /proc/self/exe names this trampoline again,
 * which refuses to run as one. Built with no C library (a few KiB, one cheap exec); the whole
 * of its work is the PATH search of launch.cpp's exec_command, told the same way.
 *
 * argv: "kakuri-exec", ERROR_FD, "/" (NAME has a slash) or "p" (a PATH search), NAME,
 *       CANDIDATE..., "", the command's argv.
 * On failure it writes one frame on ERROR_FD (supervise.cpp's frame_error: "E" when the text
 * says all, "e" when kakuri adds errno's text) and exits 126 or 127.
 */

#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/fcntl.h>

#if defined(__x86_64__)
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
__asm__(
    ".text\n.global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n"
    " call start_c\n hlt\n");
#elif defined(__aarch64__)
static long sys3(long n, long a, long b, long c) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
__asm__(
    ".text\n.global _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n"
    " and sp, x0, #-16\n bl start_c\n brk #0\n");
#else
#error "the exec trampoline knows x86_64 and aarch64 (meson builds it only there)"
#endif

static void quit(int code) {
    for (;;) sys3(__NR_exit, code, 0, 0);
}

static unsigned long length(const char* s) {
    unsigned long n = 0;
    while (s[n]) ++n;
    return n;
}

static int same(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

static void put(int fd, const char* s, unsigned long n) {
    while (n > 0) {
        long w = sys3(__NR_write, fd, (long)s, (long)n);
        if (w == -EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (unsigned long)w;
    }
}

/* Appends the decimal digits of v to buf at *at. */
static void digits(char* buf, unsigned long* at, unsigned long v) {
    char d[24];
    int n = 0;
    do d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0) buf[(*at)++] = d[--n];
}

/* One frame, "<kind><status>,<errno>,<length>:<name><what>", then the exit. */
static void fail(int fd, char kind, int status, int err, const char* name, const char* what) {
    char head[64];
    unsigned long at = 0, n = length(name), w = length(what);
    head[at++] = kind;
    digits(head, &at, (unsigned long)status);
    head[at++] = ',';
    digits(head, &at, (unsigned long)err);
    head[at++] = ',';
    digits(head, &at, n + w);
    head[at++] = ':';
    put(fd, head, at);
    put(fd, name, n);
    put(fd, what, w);
    quit(status);
}

/* execve(path); a file the kernel cannot run as a program is a script for sh, as execvp runs it.
 * args[-1] is the slot before the command's argv (the "" separator): sh's argv is built in
 * place there and undone after. Returns the errno. */
static long try_exec(const char* path, char** args, char** envp) {
    long err = sys3(__NR_execve, (long)path, (long)args, (long)envp);
    if (err != -ENOEXEC) return -err;
    char* first = args[0];
    args[-1] = (char*)"sh";
    args[0] = (char*)path;
    sys3(__NR_execve, (long)"/bin/sh", (long)(args - 1), (long)envp);
    args[-1] = (char*)"";
    args[0] = first;
    return ENOEXEC;
}

static int transient(long err) {
    return err == ENOENT || err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG;
}

__attribute__((used)) void start_c(long* sp) {
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    char** envp = argv + argc + 1;
    if (argc < 5 || !same(argv[0], "kakuri-exec")) {
        static const char refusal[] =
            "kakuri: the exec trampoline is not an interpreter (a #! of /proc/self/exe?)\n";
        put(2, refusal, sizeof refusal - 1);
        quit(126);
    }
    int fd = 0;
    for (const char* p = argv[1]; *p >= '0' && *p <= '9'; ++p) fd = fd * 10 + (*p - '0');
    /* Nothing of kakuri's reaches the command: the pipe closes when the command runs. */
    sys3(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC);
    int slash = argv[2][0] == '/';
    const char* name = argv[3];
    long i = 4;
    while (i < argc && argv[i][0]) ++i;
    if (i + 1 >= argc) quit(125); /* no command: kakuri never calls it so */
    char** args = argv + i + 1;
    int denied = 0;
    for (long c = 4; c < i; ++c) {
        long err = try_exec(argv[c], args, envp);
        if (slash) {
            if (err == ENOENT) fail(fd, 'E', 127, ENOENT, name, ": no such file or directory");
            fail(fd, 'e', 126, (int)err, name, ": cannot execute");
        }
        if (err == EACCES)
            denied = 1;
        else if (!transient(err))
            fail(fd, 'e', 126, (int)err, name, ": cannot execute");
    }
    if (denied) fail(fd, 'e', 126, EACCES, name, ": cannot execute");
    fail(fd, 'E', 127, 0, name, ": command not found");
}
