// seccomp: the default syscall filter (libseccomp at build time), loaded last before exec.
#pragma once

namespace kakuri {

// Load the default filter into the calling process (needs no_new_privs first). Throws Error on
// failure. In a build without the filter: one line on stderr saying so, and nothing loaded, so
// that a container runs without the filter rather than not at all (--seccomp=off is the same).
void load_default_filter();

}  // namespace kakuri
