// Unit tests for sealed: binary_reachable, whether kakuri must run from a copy nobody can
// write (CVE-2019-5736) before a process enters a container.
#include <doctest/doctest.h>
#include <sys/stat.h>

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

}  // namespace kakuri
