// sealed: kakuri out of a container's reach (CVE-2019-5736).
//
// Every process kakuri puts inside a container (init, the command between fork and
// exec, the `exec` helper) runs the kakuri binary, and a script whose interpreter is
// /proc/self/exe makes the command itself run it. A process inside that holds such a
// process's /proc/PID/exe may reopen it for writing once it is no longer busy: as real
// root, or when the binary belongs to the caller (a build tree, ~/.local/bin), the next
// user of that binary would run the attacker's code. A memfd copy with every seal set
// cannot be written by anyone, root included, and is gone with the last process using it.
// As real root a cheaper equivalent exists (runc's other answer): execute the binary
// through a detached, read-only bind mount of itself. /proc/PID/exe then names a file on a
// mount no namespace holds and nobody can make writable again (mount_setattr needs
// CAP_SYS_ADMIN over the mount's namespace, which is host root's): a reopen for writing is
// EROFS, and no page is copied.
//
// Both cost a second exec of kakuri before every run. A temporary container needs neither: its
// init and the command before exec are made non-dumpable, so nothing inside can open their
// /proc/PID/exe, and the command is exec'd through the trampoline (trampoline.c) from a sealed
// memfd of a few KiB, so that an interpreter of /proc/self/exe is that memfd. exec_guard says
// which of the three a run takes.
#include "sealed.hpp"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "sys.hpp"
#if KAKURI_HAVE_TRAMPOLINE
#include "trampoline_bin.h"
#endif

extern char** environ;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: needed where vm.memfd_noexec makes memfds noexec
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020  // Linux 6.3: the mode's exec bits cannot change
#endif

namespace kakuri {

namespace {

char** g_argv = nullptr;
// The variable that carries, across a re-execution, the path kakuri was started from.
const char* const kStartedFrom = "KAKURI_STARTED_FROM";
std::string g_started_from;

const int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

// Is this binary already out of every writer's reach: a sealed memfd, or a file on a
// read-only mount (the detached clone below, or a read-only /usr)?
bool runs_sealed(int self) {
    int seals = fcntl(self, F_GET_SEALS);
    if (seals >= 0 && (seals & kSeals) == kSeals) return true;
    struct statvfs vfs;
    return fstatvfs(self, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

// The process was started from an fd (its name is the fd's number): give it its name back.
void restore_name() {
    if (!g_argv || !g_argv[0]) return;
    const char* base = strrchr(g_argv[0], '/');
    prctl(PR_SET_NAME, base ? base + 1 : g_argv[0], 0, 0, 0);
}

// As real root: re-execute through a detached read-only clone of the binary's mount.
// Returns only when the kernel refuses (no new mount API, no CAP_SYS_ADMIN over this
// mount namespace); the memfd copy is the fallback.
void exec_read_only_clone(int self) {
    UniqueFd clone(sys_open_tree(self, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
    if (!clone) return;
    if (sys_mount_setattr(clone.get(), "", AT_EMPTY_PATH,
                          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0) != 0)
        return;
    syscall(SYS_execveat, clone.get(), "", g_argv, environ, AT_EMPTY_PATH);
}

// An executable memfd (vm.memfd_noexec=2 refuses one: EACCES).
UniqueFd make_memfd(const char* name, const std::string& what) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw Error(what + " (memfd_create)", errno);
    return UniqueFd(fd);
}

void write_whole(int fd, const unsigned char* data, size_t n, const char* what) {
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw Error(what, w < 0 ? errno : EIO);
        data += w;
        n -= static_cast<size_t>(w);
    }
}

// Seals a memfd's content and mode; older kernels know no F_SEAL_EXEC.
void seal(int fd, const char* what) {
    if (fcntl(fd, F_ADD_SEALS, kSeals | F_SEAL_EXEC) != 0 && fcntl(fd, F_ADD_SEALS, kSeals) != 0)
        throw Error(what, errno);
}

// Whether this system lets a memfd be executed: vm.memfd_noexec=2 refuses MFD_EXEC (EACCES);
// a kernel before 6.3 knows no MFD_EXEC (EINVAL) and executes any memfd.
bool memfd_executable() {
    int fd = memfd_create("kakuri-exec", MFD_CLOEXEC | MFD_EXEC);
    if (fd >= 0) ::close(fd);
    return fd >= 0 || errno == EINVAL;
}

// Unprivileged, the sealed copy is a memfd: with none executable, no copy can be made.
const char* const kNoSealedCopy =
    "cannot keep the kakuri binary out of the container's reach: it may be written by an id "
    "a container maps, and vm.memfd_noexec=2 forbids the sealed copy kakuri would run from "
    "(install kakuri owned by root and writable by no one else, which needs no copy)";

}  // namespace

void remember_argv(char** argv) {
    g_argv = argv;
    if (const char* from = getenv(kStartedFrom)) {
        g_started_from = from;
        unsetenv(kStartedFrom);
    }
}

std::string kakuri_binary() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string exe = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    struct stat st;
    // A detached clone's file is "/", a memfd's "/memfd:kakuri (deleted)".
    if (exe.size() > 1 && exe[0] == '/' && exe.rfind("/memfd:", 0) != 0 &&
        stat(exe.c_str(), &st) == 0 && S_ISREG(st.st_mode))
        return exe;
    return g_started_from;
}

// Could any identity inside a container write the file this process runs? Unprivileged,
// containers map only the caller's ids (and, with --subids, its subordinate ranges, which
// never hold host root): a binary that host root owns and no one else may write is out of
// their reach. As real root, container root may be host root itself.
bool binary_reachable(uid_t uid, uid_t euid, uid_t owner, mode_t mode) {
    if (uid == 0 || euid == 0) return true;
    return owner != 0 || (mode & (S_IWGRP | S_IWOTH)) != 0;
}

void ensure_sealed_self() {
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0) throw Error("stat /proc/self/exe", errno);
    if (!binary_reachable(getuid(), geteuid(), st.st_uid, st.st_mode)) return;
    UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!self) throw Error("open /proc/self/exe to make a sealed copy", errno);
    if (runs_sealed(self.get())) {
        restore_name();
        return;
    }
    if (!g_argv) throw Error("internal: kakuri's arguments were not recorded");
    // The copy's own path says nothing of where it came from (kakuri_binary).
    const std::string from = kakuri_binary();
    if (!from.empty()) setenv(kStartedFrom, from.c_str(), 1);
    if (getuid() == 0 || geteuid() == 0) exec_read_only_clone(self.get());
    if (fstat(self.get(), &st) != 0) throw Error("stat /proc/self/exe", errno);
    if (!memfd_executable()) throw Error(kNoSealedCopy);

    UniqueFd copy = make_memfd("kakuri", "create a sealed copy of kakuri");
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = sendfile(copy.get(), self.get(), nullptr, static_cast<size_t>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error("copy kakuri into a sealed memfd", n < 0 ? errno : EIO);
        left -= n;
    }
    seal(copy.get(), "seal kakuri's copy");
    fexecve(copy.get(), g_argv, environ);
    throw Error("run kakuri's sealed copy", errno);
}

ExecGuard exec_guard(bool reachable, bool userns, uint64_t caps, bool have_trampoline) {
    if (!reachable) return ExecGuard::None;
    const uint64_t reach_init =
        (1ULL << CAP_SYS_PTRACE) | (1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_CHECKPOINT_RESTORE);
    if (!have_trampoline || (!userns && (caps & reach_init) != 0)) return ExecGuard::Reexec;
    return ExecGuard::Trampoline;
}

bool self_reachable() {
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0) throw Error("stat /proc/self/exe", errno);
    return binary_reachable(getuid(), geteuid(), st.st_uid, st.st_mode);
}

bool guard_run(bool userns, uint64_t caps) {
    const bool trampoline = KAKURI_HAVE_TRAMPOLINE && memfd_executable();
    switch (exec_guard(self_reachable(), userns, caps, trampoline)) {
    case ExecGuard::None: return false;
    case ExecGuard::Trampoline: return true;
    case ExecGuard::Reexec: ensure_sealed_self(); return false;
    }
    return false;
}

std::string describe_guard(bool userns, uint64_t caps) {
    const bool trampoline = KAKURI_HAVE_TRAMPOLINE && memfd_executable();
    switch (exec_guard(self_reachable(), userns, caps, trampoline)) {
    case ExecGuard::None:
        return "the command is exec'd directly (no id inside may write the kakuri binary)";
    case ExecGuard::Trampoline:
        return "the command is exec'd through a sealed trampoline (a #! naming /proc/self/exe "
               "cannot reach the kakuri binary)";
    case ExecGuard::Reexec:
        if (getuid() != 0 && geteuid() != 0 && !memfd_executable())
            return std::string("refused: ") + kNoSealedCopy;
        return "kakuri runs from a sealed copy of itself (a read-only mount as real root, else a "
               "sealed memfd)";
    }
    return "";
}

UniqueFd make_exec_trampoline() {
#if KAKURI_HAVE_TRAMPOLINE
    UniqueFd fd = make_memfd("kakuri-exec", "create kakuri's exec trampoline");
    write_whole(fd.get(), kTrampolineProgram, sizeof kTrampolineProgram,
                "write kakuri's exec trampoline");
    seal(fd.get(), "seal kakuri's exec trampoline");
    return fd;
#else
    throw Error("this build of kakuri has no exec trampoline");
#endif
}

}  // namespace kakuri
