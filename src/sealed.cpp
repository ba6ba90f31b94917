// sealed: run from a sealed memfd copy of the kakuri binary (CVE-2019-5736).
//
// Every process kakuri puts inside a container (init, the command between fork and
// exec, the `exec` helper) runs the kakuri binary, and a script whose interpreter is
// /proc/self/exe makes the command itself run it. A process inside that holds such a
// process's /proc/PID/exe may reopen it for writing once it is no longer busy: as real
// root, or when the binary belongs to the caller (a build tree, ~/.local/bin), the next
// user of that binary would run the attacker's code. A memfd copy with every seal set
// cannot be written by anyone, root included, and is gone with the last process using it.
#include "sealed.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "sys.hpp"

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

const int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

// Could any identity inside a container write the file this process runs? Unprivileged,
// containers map only the caller's ids (and, with --subids, its subordinate ranges, which
// never hold host root): a binary that host root owns and no one else may write is out of
// their reach. As real root, container root may be host root itself.
bool binary_reachable(const struct stat& st) {
    if (getuid() == 0 || geteuid() == 0) return true;
    return st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

UniqueFd make_memfd() {
    int fd = memfd_create("kakuri", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = memfd_create("kakuri", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw Error("create a sealed copy of kakuri (memfd_create)", errno);
    return UniqueFd(fd);
}

}  // namespace

void remember_argv(char** argv) { g_argv = argv; }

void ensure_sealed_self() {
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0) throw Error("stat /proc/self/exe", errno);
    if (!binary_reachable(st)) return;
    UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!self) throw Error("open /proc/self/exe to make a sealed copy", errno);
    int seals = fcntl(self.get(), F_GET_SEALS);
    if (seals >= 0 && (seals & kSeals) == kSeals) {
        // The copy runs: give the process its name back (exec from an fd names it "3").
        if (g_argv && g_argv[0]) {
            const char* base = strrchr(g_argv[0], '/');
            prctl(PR_SET_NAME, base ? base + 1 : g_argv[0], 0, 0, 0);
        }
        return;
    }
    if (!g_argv) throw Error("internal: kakuri's arguments were not recorded");
    if (fstat(self.get(), &st) != 0) throw Error("stat /proc/self/exe", errno);

    UniqueFd copy = make_memfd();
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = sendfile(copy.get(), self.get(), nullptr, static_cast<size_t>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error("copy kakuri into a sealed memfd", n < 0 ? errno : EIO);
        left -= n;
    }
    if (fcntl(copy.get(), F_ADD_SEALS, kSeals | F_SEAL_EXEC) != 0 &&
        fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0)
        throw Error("seal kakuri's copy", errno);
    fexecve(copy.get(), g_argv, environ);
    throw Error("run kakuri's sealed copy", errno);
}

}  // namespace kakuri
