// seccomp: the default syscall filter (libseccomp), loaded last before exec.
#pragma once

namespace kakuri {

// Load the default filter into the calling process (needs no_new_privs first).
// Throws Error on failure.
void load_default_filter();

// Whether this build has seccomp support (meson -Dseccomp=disabled builds do not).
bool seccomp_available();

}  // namespace kakuri
