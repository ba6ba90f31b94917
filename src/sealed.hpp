// sealed: kakuri runs from a sealed in-memory copy of itself (or, as real root, from a
// read-only mount of itself) whenever a process it
// puts inside a container could otherwise reach a writable kakuri binary (CVE-2019-5736).
#pragma once

#include <sys/types.h>

namespace kakuri {

// main() hands over its argv once: re-executing needs the words as they were given.
void remember_argv(char** argv);

// Before the first process enters a container. Returns at once when kakuri already
// runs from a sealed copy or a read-only mount, or when no identity a container can
// have may write the binary (unprivileged, binary owned by host root and writable by
// nobody else); otherwise re-executes kakuri, same arguments and environment, as real
// root through a detached read-only clone of the binary's mount, else from a sealed
// memfd copy, and does not return. Throws Error when that cannot be done.
void ensure_sealed_self();

// Whether a process inside a container could come to write the binary (owner and mode as
// stat gives them) that kakuri, running as uid and euid, executes: as real root always;
// unprivileged, when host root does not own it or its group or others may write it.
bool binary_reachable(uid_t uid, uid_t euid, uid_t owner, mode_t mode);

}  // namespace kakuri
