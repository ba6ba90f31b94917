// mounts: applies a plan's mount steps in the container's fresh mount namespace
// and pivots into the new root. Host paths are opened once, before anything is
// mounted; container paths are resolved inside the new root (openat2 RESOLVE_IN_ROOT).
#pragma once

#include "plan.hpp"

namespace kakuri {

// Runs in the container's init, before the command; throws Error on failure.
// On return the calling process's root and cwd are the new root.
void apply_mounts(const Plan& plan);

}  // namespace kakuri
