// seccomp: the default syscall filter: its rules as data (what seccomp-gen compiles to BPF at
// build time and an OCI bundle's linux.seccomp says), and loading it last before exec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kakuri {

// One rule of the default filter: the call `name` fails with `err`; with `masked`, only when
// (argument `arg` & mask) == value. Every other call is allowed.
struct SyscallRule {
    const char* name;
    int err;
    const char* why;
    bool masked;
    unsigned arg;
    uint64_t mask;
    uint64_t value;
};

// The default filter's rules, in the order they are added: the one table the BPF program and
// kakuri export --bundle are both made from. A name unknown on an ABI is skipped there.
const std::vector<SyscallRule>& default_filter_rules();
// The ABIs the filter covers, libseccomp's names ("x86_64", "x86", "x32"), the native one
// first; a call through any other ABI kills the process.
std::vector<std::string> default_filter_abis();

// Load the default filter into the calling process (needs no_new_privs first). Throws Error on
// failure. In a build without the filter: one line on stderr saying so, and nothing loaded, so
// that a container runs without the filter rather than not at all (--seccomp=off is the same).
void load_default_filter();

}  // namespace kakuri
