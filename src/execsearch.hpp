/* execsearch: how a container's command is found and exec'd, as execvp(3) does it, told as
 * kakuri tells it: "not found" (127) apart from "cannot execute" (126).
 *
 * One search for both ways a command is exec'd: launch.cpp's exec_command, and the exec
 * trampoline (trampoline.c, a program with no C library, which is why this is C and C++ both,
 * header only, and calls execve through the function it is given). It includes nothing: its
 * includer brings the errno values (<errno.h>, or <linux/errno.h> in the trampoline).
 */
#pragma once

/* execve(path, args, envp) as a system call: the errno it failed with, negated. */
typedef long (*exec_call)(const char* path, char** args, char** envp);

/* What the search ends in when nothing could be exec'd: the exit status, the errno to tell
 * (0: none) and what follows the command's name in the one line said. */
struct exec_failure {
    int status;
    long err;
    const char* what;
};

static inline struct exec_failure exec_failed(int status, long err, const char* what) {
    struct exec_failure f;
    f.status = status;
    f.err = err;
    f.what = what;
    return f;
}

/* execve of path; a file the kernel cannot run as a program (ENOEXEC) is a script for sh, as
 * execvp runs it. args[-1] is a slot before the command's argv: sh's argv is built in place
 * there and undone after. Returns the errno. */
static inline long exec_one(exec_call call, const char* path, char** args, char** envp) {
    long err = -call(path, args, envp);
    if (err != ENOEXEC) return err;
    char* first = args[0];
    char* slot = args[-1];
    args[-1] = (char*)"sh";
    args[0] = (char*)path;
    call("/bin/sh", args - 1, envp);
    args[-1] = slot;
    args[0] = first;
    return ENOEXEC;
}

/* Each of the n candidates in order (a name with a slash: itself alone, slash set); returns only
 * when none could be exec'd. A candidate that is missing (or a path too long, a loop, a part
 * that is no directory) leads on to the next; one denied is remembered and the search goes on,
 * as execvp's does; any other error ends it. */
static inline struct exec_failure exec_search(exec_call call, int slash, char* const* candidates,
                                              long n, char** args, char** envp) {
    int denied = 0;
    for (long c = 0; c < n; ++c) {
        long err = exec_one(call, candidates[c], args, envp);
        if (slash) {
            if (err == ENOENT) return exec_failed(127, 0, ": no such file or directory");
            return exec_failed(126, err, ": cannot execute");
        }
        if (err == EACCES)
            denied = 1;
        else if (err != ENOENT && err != ENOTDIR && err != ELOOP && err != ENAMETOOLONG)
            return exec_failed(126, err, ": cannot execute");
    }
    if (denied) return exec_failed(126, EACCES, ": cannot execute");
    return exec_failed(127, 0, ": command not found");
}
