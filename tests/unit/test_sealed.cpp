// Unit tests for sealed: binary_reachable, whether kakuri must run from a copy nobody can
// write (CVE-2019-5736) before a process enters a container.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "sealed.hpp"

namespace kakuri {

TEST_CASE("sealed: which binaries a container could come to write") {
    struct Row {
        uid_t uid, euid;  // kakuri's
        uid_t owner;      // the binary's
        mode_t mode;
        bool reachable;
        const char* why;
    };
    const Row rows[] = {
        // Real root: container root may be host root itself, whatever the file.
        {0, 0, 0, S_IFREG | 0755, true, "real root"},
        {0, 0, 0, S_IFREG | 0555, true, "real root, a binary nobody may write"},
        {0, 1000, 0, S_IFREG | 0755, true, "uid 0 (euid not)"},
        {1000, 0, 0, S_IFREG | 0755, true, "euid 0 (setuid root)"},
        {0, 0, 1000, S_IFREG | 0755, true, "real root, a user's binary"},
        // Unprivileged, a binary host root owns and only it may write: out of reach.
        {1000, 1000, 0, S_IFREG | 0755, false, "installed"},
        {1000, 1000, 0, S_IFREG | 0555, false, "read-only"},
        {1000, 1000, 0, S_IFREG | 0700, false, "root's only"},
        {1000, 1000, 0, S_IFREG | 04755, false, "setuid root, not writable but by root"},
        {1000, 1001, 0, S_IFREG | 0755, false, "uid and euid differ, neither 0"},
        // Unprivileged: anyone but host root owns it, or its group or others may write it.
        {1000, 1000, 1000, S_IFREG | 0755, true, "the caller's own (a build tree)"},
        {1000, 1000, 1000, S_IFREG | 0555, true, "the caller's own, read-only (chmod undoes)"},
        {1000, 1000, 4242, S_IFREG | 0755, true, "someone else's"},
        {1000, 1000, 0, S_IFREG | 0775, true, "group-writable"},
        {1000, 1000, 0, S_IFREG | 0757, true, "world-writable"},
        {1000, 1000, 0, S_IFREG | 0020, true, "group-writable only"},
        {1000, 1000, 0, S_IFREG | 0002, true, "world-writable only"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.why);
        CHECK(binary_reachable(r.uid, r.euid, r.owner, r.mode) == r.reachable);
    }
}

TEST_CASE("sealed: how a run keeps the binary out of reach (ExecGuard)") {
    const uint64_t docker =
        (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE);
    struct Row {
        bool reachable, userns;
        uint64_t caps;
        bool trampoline;  // built with it
        ExecGuard guard;
        const char* why;
    };
    const Row rows[] = {
        {false, true, docker, true, ExecGuard::None, "an installed binary, unprivileged"},
        {false, true, docker, false, ExecGuard::None, "out of reach, whatever the build"},
        {true, false, docker, true, ExecGuard::Trampoline, "real root, default capabilities"},
        {true, true, docker, true, ExecGuard::Trampoline, "the caller's own binary"},
        {true, true, ~0ULL, true, ExecGuard::Trampoline,
         "in a user namespace no capability reaches the host's"},
        {true, false, docker | (1ULL << CAP_SYS_PTRACE), true, ExecGuard::Reexec,
         "real root keeping SYS_PTRACE could open init's /proc/1/exe"},
        {true, false, 1ULL << CAP_SYS_ADMIN, true, ExecGuard::Reexec,
         "real root keeping SYS_ADMIN could open init's map_files"},
        {true, false, 1ULL << CAP_CHECKPOINT_RESTORE, true, ExecGuard::Reexec,
         "real root keeping CHECKPOINT_RESTORE could open init's map_files"},
        {true, true, docker, false, ExecGuard::Reexec, "a build without the trampoline"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.why);
        CHECK(exec_guard(r.reachable, r.userns, r.caps, r.trampoline) == r.guard);
    }
}

TEST_CASE("sealed: the exec trampoline is a sealed memfd nobody can write") {
#if KAKURI_HAVE_TRAMPOLINE
    UniqueFd t = make_exec_trampoline();
    REQUIRE(t);
    const int seals = fcntl(t.get(), F_GET_SEALS);
    CHECK((seals & F_SEAL_WRITE) != 0);
    CHECK((seals & F_SEAL_SEAL) != 0);
    CHECK(::write(t.get(), "x", 1) < 0);
    char head[4] = {};
    CHECK(pread(t.get(), head, 4, 0) == 4);
    CHECK(std::string(head, 4) ==
          "\x7f"
          "ELF");
    CHECK((fcntl(t.get(), F_GETFD) & FD_CLOEXEC) != 0);
#else
    CHECK_THROWS_AS(make_exec_trampoline(), Error);
#endif
}

}  // namespace kakuri
