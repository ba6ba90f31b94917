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

namespace {

SyscallRule deny(const char* name, int err, const char* why) {
    return {name, err, why, false, 0, 0, 0};
}

// Only when (argument arg & mask) == value.
SyscallRule deny_when(const char* name, int err, unsigned arg, uint64_t mask, uint64_t value,
                      const char* why) {
    return {name, err, why, true, arg, mask, value};
}

}  // namespace

// Syscall names the container has no business calling. Those that do not exist on an ABI are
// skipped there.
const std::vector<SyscallRule>& default_filter_rules() {
    static const std::vector<SyscallRule> rules = {
        // The kernel keyring is not namespaced: keys of the host's user are reachable.
        deny("keyctl", EPERM, "kernel keyring is not namespaced"),
        deny("add_key", EPERM, "kernel keyring is not namespaced"),
        deny("request_key", EPERM, "kernel keyring is not namespaced"),
        // Replacing the running kernel or loading code into it.
        deny("kexec_load", EPERM, "replace the kernel"),
        deny("kexec_file_load", EPERM, "replace the kernel"),
        deny("init_module", EPERM, "load kernel modules"),
        deny("finit_module", EPERM, "load kernel modules"),
        deny("delete_module", EPERM, "unload kernel modules"),
        // Large kernel attack surfaces with a history of privilege escalations.
        deny("bpf", EPERM, "eBPF: verifier bugs, kernel memory"),
        deny("perf_event_open", EPERM, "side channels, kernel pointers"),
        deny("userfaultfd", EPERM, "used to win kernel races in exploits"),
        // Opens any inode by handle, bypassing the mount tree (the 'shocker' escape).
        deny("open_by_handle_at", EPERM, "escape through file handles"),
        deny("name_to_handle_at", EPERM, "pairs with open_by_handle_at"),
        // Host-wide state a container must not change.
        deny("reboot", EPERM, "host power state"),
        deny("swapon", EPERM, "host swap"),
        deny("swapoff", EPERM, "host swap"),
        deny("settimeofday", EPERM, "the host clock is not namespaced"),
        deny("clock_settime", EPERM, "the host clock is not namespaced"),
        deny("clock_settime64", EPERM, "the host clock is not namespaced (i386)"),
        deny("clock_adjtime", EPERM, "the host clock is not namespaced"),
        deny("clock_adjtime64", EPERM, "the host clock is not namespaced (i386)"),
        deny("stime", EPERM, "the host clock is not namespaced (i386)"),
        deny("acct", EPERM, "host-wide process accounting"),
        deny("quotactl", EPERM, "host file system quotas"),
        deny("quotactl_fd", EPERM, "host file system quotas"),
        deny("lookup_dcookie", EPERM, "kernel profiling interface"),
        deny("vhangup", EPERM, "hangs up the caller's terminal"),
        // The mount table is kakuri's: mounting inside could uncover what kakuri masked.
        // mount(2) callers see EPERM; the new mount API reports ENOSYS so libraries fall back
        // to mount(2), which then fails cleanly.
        deny("mount", EPERM, "no mounting inside"),
        deny("umount", EPERM, "no unmounting kakuri's masks"),
        deny("umount2", EPERM, "no unmounting kakuri's masks"),
        deny("pivot_root", EPERM, "no changing the root"),
        deny("fsopen", ENOSYS, "new mount API"),
        deny("fsconfig", ENOSYS, "new mount API"),
        deny("fsmount", ENOSYS, "new mount API"),
        deny("fspick", ENOSYS, "new mount API"),
        deny("move_mount", ENOSYS, "new mount API"),
        deny("open_tree", ENOSYS, "new mount API"),
        deny("mount_setattr", ENOSYS, "new mount API"),
        // clone3 passes its flags in memory, which seccomp cannot inspect, so it cannot be
        // checked for CLONE_NEWUSER: ENOSYS makes libc fall back to clone.
        deny("clone3", ENOSYS, "flags not inspectable"),
        // Pushing keystrokes into the caller's terminal (TIOCSTI, CVE-2017-5226) or the console
        // (TIOCLINUX). The kernel compares only the low 32 bits of an ioctl request, so the
        // filter does too: a high-bit variant must not pass.
        deny_when("ioctl", EPERM, 1, 0xffffffffULL, TIOCSTI, "push input into a terminal"),
        deny_when("ioctl", EPERM, 1, 0xffffffffULL, TIOCLINUX, "push input into the console"),
        // New user namespaces from inside: the doorway to most kernel exploits that need
        // capabilities, and a way around every other rule here.
        deny_when("unshare", EPERM, 0, CLONE_NEWUSER, CLONE_NEWUSER, "new user namespaces"),
        deny_when("clone", EPERM, 0, CLONE_NEWUSER, CLONE_NEWUSER, "new user namespaces"),
    };
    return rules;
}

// Calls through another ABI of the same kernel must meet the same rules: on x86-64 that is
// i386 (int 0x80) and x32. Any other ABI is killed.
std::vector<std::string> default_filter_abis() {
#if defined(__x86_64__)
    return {"x86_64", "x86", "x32"};
#elif defined(__aarch64__)
    return {"aarch64"};
#elif defined(__i386__)
    return {"x86"};
#else
    return {};  // the native ABI alone, whatever libseccomp calls it
#endif
}

#if KAKURI_HAVE_SECCOMP && defined(KAKURI_SECCOMP_GENERATOR)

namespace {

struct Ctx {
    scmp_filter_ctx ctx;
    ~Ctx() { seccomp_release(ctx); }
};

void add_rule(Ctx& c, const SyscallRule& r) {
    int nr = seccomp_syscall_resolve_name(r.name);
    if (nr == __NR_SCMP_ERROR) return;  // unknown on every ABI of this filter
    scmp_arg_cmp a = SCMP_CMP(r.arg, SCMP_CMP_MASKED_EQ, r.mask, r.value);
    int rc = seccomp_rule_add_array(c.ctx, SCMP_ACT_ERRNO(r.err), nr, r.masked ? 1 : 0,
                                    r.masked ? &a : nullptr);
    if (rc < 0 && rc != -EDOM) throw Error(std::string("seccomp rule for ") + r.name, -rc);
}

}  // namespace

// Build the filter from default_filter_rules and write it as BPF to fd (seccomp-gen's job).
void export_default_filter(int fd) {
    Ctx c{seccomp_init(SCMP_ACT_ALLOW)};
    if (!c.ctx) throw Error("initialise seccomp", ENOMEM);
    int rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) throw Error("seccomp bad-arch action", -rc);
    // The syscall numbers as a binary tree, not a list: loading a filter, the kernel runs it for
    // every syscall number of every ABI to learn which ones it always allows (its action
    // cache), and on the list's long paths that took half the load's time (0.24 ms against
    // 0.12 ms on the machine of bench/RESULTS.md).
    rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc < 0) throw Error("seccomp optimize", -rc);
    for (const std::string& abi : default_filter_abis()) {
        uint32_t arch = seccomp_arch_resolve_name(abi.c_str());
        if (!arch) throw Error("seccomp: unknown ABI " + abi, EINVAL);
        rc = seccomp_arch_add(c.ctx, arch);
        if (rc < 0 && rc != -EEXIST) throw Error("seccomp add ABI " + abi, -rc);
    }
    for (const auto& r : default_filter_rules()) add_rule(c, r);
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
