// sealed: keeping the kakuri binary out of reach of every process kakuri puts inside a container
// (CVE-2019-5736): the exec trampoline's sealed memfd, or kakuri run anew from a sealed in-memory
// copy of itself (as real root, from a read-only mount of itself).
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <string>

#include "sys.hpp"

namespace kakuri {

// main() hands over its argv once: re-executing needs the words as they were given. Also takes
// (and removes from the environment) the path a re-executed kakuri was started from.
void remember_argv(char** argv);

// The host path of the kakuri binary this run is: /proc/self/exe's, or, once re-executed from
// a sealed copy or a read-only clone (whose paths say nothing), the one it was started from;
// "" when unknown.
std::string kakuri_binary();

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

// How the kakuri binary is kept out of a container's reach for one run.
//   None: no identity the container has may write it (see binary_reachable).
//   Trampoline: init and the command's process before exec are not dumpable (nothing inside
//     may open their /proc/PID/exe or map_files: that takes CAP_SYS_PTRACE, CAP_SYS_ADMIN or
//     CAP_CHECKPOINT_RESTORE over the host's user namespace, which a container in a user
//     namespace never has), and the command is exec'd through the trampoline (trampoline.c),
//     so that an interpreter of /proc/self/exe names a sealed memfd, not kakuri.
//   Reexec: ensure_sealed_self, before the run. As real root without a user namespace, a
//     command that keeps one of those capabilities could reach init's binary; and a build
//     without the trampoline has no other way.
enum class ExecGuard { None, Trampoline, Reexec };
ExecGuard exec_guard(bool reachable, bool userns, uint64_t caps, bool have_trampoline);

// binary_reachable for the binary this process runs, and this process's ids.
bool self_reachable();

// exec_guard carried out for a run whose container has these (the plan's): true when its
// command is to be exec'd through the trampoline; Reexec runs ensure_sealed_self (which runs
// kakuri anew, or returns when it already runs sealed).
bool guard_run(bool userns, uint64_t caps);

// What --dry-run says of the choice guard_run would make, without making it (no re-execution).
std::string describe_guard(bool userns, uint64_t caps);

// A sealed memfd (no writes, no size change, no new seals) holding the exec trampoline,
// close-on-exec; for execveat(fd, "", ..., AT_EMPTY_PATH). Throws Error.
UniqueFd make_exec_trampoline();

}  // namespace kakuri
