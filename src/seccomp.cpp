// seccomp: the default filter — every entry says why it is there.
#include "seccomp.hpp"

#include <errno.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "features.hpp"
#include "sys.hpp"

#if KAKURI_HAVE_SECCOMP
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#ifdef KAKURI_SECCOMP_GENERATOR
#include <seccomp.h>
#else
// kFilter: the BPF program below, compiled once at build time by
// seccomp-gen (libseccomp is slow to generate it: ~0.7 ms per container).
#include "seccomp_bpf.h"
#endif
#endif

namespace kakuri {

#if KAKURI_HAVE_SECCOMP && defined(KAKURI_SECCOMP_GENERATOR)

namespace {

struct Ctx {
    scmp_filter_ctx ctx;
    ~Ctx() { seccomp_release(ctx); }
};

// Syscall names the container has no business calling. Those that do not exist
// on an ABI are skipped there.
struct Denied {
    const char* name;
    int err;
    const char* why;
};

const Denied kDenied[] = {
    // The kernel keyring is not namespaced: keys of the host's user are reachable.
    {"keyctl", EPERM, "kernel keyring is not namespaced"},
    {"add_key", EPERM, "kernel keyring is not namespaced"},
    {"request_key", EPERM, "kernel keyring is not namespaced"},
    // Replacing the running kernel or loading code into it.
    {"kexec_load", EPERM, "replace the kernel"},
    {"kexec_file_load", EPERM, "replace the kernel"},
    {"init_module", EPERM, "load kernel modules"},
    {"finit_module", EPERM, "load kernel modules"},
    {"delete_module", EPERM, "unload kernel modules"},
    // Large kernel attack surfaces with a history of privilege escalations.
    {"bpf", EPERM, "eBPF: verifier bugs, kernel memory"},
    {"perf_event_open", EPERM, "side channels, kernel pointers"},
    {"userfaultfd", EPERM, "used to win kernel races in exploits"},
    // Opens any inode by handle, bypassing the mount tree (the 'shocker' escape).
    {"open_by_handle_at", EPERM, "escape through file handles"},
    {"name_to_handle_at", EPERM, "pairs with open_by_handle_at"},
    // Host-wide state a container must not change.
    {"reboot", EPERM, "host power state"},
    {"swapon", EPERM, "host swap"},
    {"swapoff", EPERM, "host swap"},
    {"settimeofday", EPERM, "the host clock is not namespaced"},
    {"clock_settime", EPERM, "the host clock is not namespaced"},
    {"clock_settime64", EPERM, "the host clock is not namespaced (i386)"},
    {"clock_adjtime", EPERM, "the host clock is not namespaced"},
    {"clock_adjtime64", EPERM, "the host clock is not namespaced (i386)"},
    {"stime", EPERM, "the host clock is not namespaced (i386)"},
    {"acct", EPERM, "host-wide process accounting"},
    {"quotactl", EPERM, "host file system quotas"},
    {"quotactl_fd", EPERM, "host file system quotas"},
    {"lookup_dcookie", EPERM, "kernel profiling interface"},
    {"vhangup", EPERM, "hangs up the caller's terminal"},
    // The mount table is kakuri's: mounting inside could uncover what kakuri
    // masked. mount(2) callers see EPERM; the new mount API reports ENOSYS so
    // libraries fall back to mount(2), which then fails cleanly.
    {"mount", EPERM, "no mounting inside"},
    {"umount", EPERM, "no unmounting kakuri's masks"},
    {"umount2", EPERM, "no unmounting kakuri's masks"},
    {"pivot_root", EPERM, "no changing the root"},
    {"fsopen", ENOSYS, "new mount API"},
    {"fsconfig", ENOSYS, "new mount API"},
    {"fsmount", ENOSYS, "new mount API"},
    {"fspick", ENOSYS, "new mount API"},
    {"move_mount", ENOSYS, "new mount API"},
    {"open_tree", ENOSYS, "new mount API"},
    {"mount_setattr", ENOSYS, "new mount API"},
    // clone3 passes its flags in memory, which seccomp cannot inspect, so it
    // cannot be checked for CLONE_NEWUSER: ENOSYS makes libc fall back to clone.
    {"clone3", ENOSYS, "flags not inspectable"},
};

void deny(Ctx& c, const char* name, int err, unsigned argc = 0,
          const scmp_arg_cmp* args = nullptr) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return;  // unknown on every ABI of this filter
    int rc = seccomp_rule_add_array(c.ctx, SCMP_ACT_ERRNO(err), nr, argc, args);
    if (rc < 0 && rc != -EDOM) throw Error(std::string("seccomp rule for ") + name, -rc);
}

}  // namespace

// Build the filter and write it as BPF to fd (seccomp-gen's job).
void export_default_filter(int fd) {
    Ctx c{seccomp_init(SCMP_ACT_ALLOW)};
    if (!c.ctx) throw Error("initialise seccomp", ENOMEM);
    // Calls through another ABI of the same kernel must meet the same rules:
    // on x86-64 that is i386 (int 0x80) and x32. Any other ABI is killed.
    int rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) throw Error("seccomp bad-arch action", -rc);
#if defined(__x86_64__)
    for (uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
        rc = seccomp_arch_add(c.ctx, arch);
        if (rc < 0 && rc != -EEXIST) throw Error("seccomp add ABI", -rc);
    }
#endif
    for (const auto& d : kDenied) deny(c, d.name, d.err);

    // Pushing keystrokes into the caller's terminal (TIOCSTI, CVE-2017-5226) or
    // the console (TIOCLINUX). The kernel compares only the low 32 bits of an
    // ioctl request, so the filter does too: a high-bit variant must not pass.
    for (unsigned long req :
         {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
        scmp_arg_cmp a = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, req);
        deny(c, "ioctl", EPERM, 1, &a);
    }
    // New user namespaces from inside: the doorway to most kernel exploits that
    // need capabilities, and a way around every other rule here.
    scmp_arg_cmp newuser = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
    deny(c, "unshare", EPERM, 1, &newuser);
    deny(c, "clone", EPERM, 1, &newuser);

    rc = seccomp_export_bpf(c.ctx, fd);
    if (rc < 0) throw Error("export the seccomp filter", -rc);
}

#elif KAKURI_HAVE_SECCOMP

void load_default_filter() {
    struct sock_fprog prog {};
    prog.len = static_cast<unsigned short>(sizeof kFilter / sizeof kFilter[0]);
    prog.filter = const_cast<struct sock_filter*>(kFilter);
    check(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), "load the seccomp filter");
}

#else

// Said by the process that would have loaded it (a container's init, an exec's first process):
// once per container or exec, on the stderr it shares with kakuri (a detached one's: its log).
void load_default_filter() {
    const std::string line = std::string("kakuri: warning: ") + kNoFilterNote +
                             " (meson -Dseccomp=disabled): the container runs without it\n";
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    (void)n;
}

#endif

}  // namespace kakuri
