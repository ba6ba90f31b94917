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
 * of its work is the PATH search launch.cpp's exec_command also makes (execsearch.hpp).
 *
 * argv: "kakuri-exec", "/" (NAME has a slash) or "p" (a PATH search), NAME, CANDIDATE..., "",
 *       the command's argv.
 * On failure it says so on stderr, one line as kakuri would print it, and exits 126 or 127. It
 * holds nothing of kakuri's: once exec'd it is dumpable again (exec resets that), and any fd
 * of kakuri's it held could be opened through its /proc/PID/fd by the container's processes.
 */

#include <asm/unistd.h>
#include <linux/errno.h>

#include "execsearch.hpp"

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

/* Messages as kakuri prints them ("kakuri: ", one line: control characters escaped as in
 * sys.cpp's one_line). */
static void put_escaped(const char* s) {
    static const char hex[] = "0123456789abcdef";
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        if (c == '\n')
            put(2, "\\n", 2);
        else if (c == '\t')
            put(2, "\\t", 2);
        else if (c < 0x20 || c == 0x7f)
            put(2, e, 4);
        else
            put(2, s, 1);
    }
}

/* strerror's texts (glibc's) for what execve returns. */
static const char* error_text(long err) {
    switch (err) {
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case EIO: return "Input/output error";
    case E2BIG: return "Argument list too long";
    case ENOEXEC: return "Exec format error";
    case ENOMEM: return "Cannot allocate memory";
    case EACCES: return "Permission denied";
    case EFAULT: return "Bad address";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case EINVAL: return "Invalid argument";
    case ENFILE: return "Too many open files in system";
    case EMFILE: return "Too many open files";
    case ETXTBSY: return "Text file busy";
    case ENAMETOOLONG: return "File name too long";
    case ELOOP: return "Too many levels of symbolic links";
    case ELIBBAD: return "Accessing a corrupted shared library";
    default: return "Unknown error";
    }
}

/* One line on stderr, "kakuri: NAME: WHAT[: errno's text]", then the exit. */
static void fail(int status, long err, const char* name, const char* what) {
    put(2, "kakuri: ", 8);
    put_escaped(name);
    put(2, what, length(what));
    if (err) {
        const char* text = error_text(err);
        put(2, ": ", 2);
        put(2, text, length(text));
    }
    put(2, "\n", 1);
    quit(status);
}

static long exec_syscall(const char* path, char** args, char** envp) {
    return sys3(__NR_execve, (long)path, (long)args, (long)envp);
}

__attribute__((used)) void start_c(long* sp) {
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    char** envp = argv + argc + 1;
    if (argc < 4 || !same(argv[0], "kakuri-exec")) {
        static const char refusal[] =
            "kakuri: the exec trampoline is not an interpreter (a #! of /proc/self/exe?)\n";
        put(2, refusal, sizeof refusal - 1);
        quit(126);
    }
    int slash = argv[1][0] == '/';
    const char* name = argv[2];
    long i = 3;
    while (i < argc && argv[i][0]) ++i;
    if (i + 1 >= argc) quit(125); /* no command: kakuri never calls it so */
    /* argv[i], the "" before the command's argv, is the slot exec_one builds sh's argv in. */
    struct exec_failure f = exec_search(exec_syscall, slash, argv + 3, i - 3, argv + i + 1, envp);
    fail(f.status, f.err, name, f.what);
}
