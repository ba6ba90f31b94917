// plan: ContainerSpec -> the ordered list of setup steps, computed without a
// single syscall. --dry-run prints it; apply (mounts.cpp, launch.cpp) walks it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "container.hpp"
#include "features.hpp"

namespace kakuri {

enum class StepKind {
    RootTmpfs,    // the new, empty root: a directory of the in-memory tmpfs
    RootOverlay,  // the new root: source (a root filesystem) below, an upper layer on top
    Overlay,      // target: source (host dir) below, an upper layer on top
    Symlink,      // target -> source, as the host has it
    Mkdir,        // target with mode
    Tmpfs,        // a fresh directory of the in-memory tmpfs at target, with mode
    DevNode,      // the host's device file source bound at target
    Devpts,       // a private devpts instance at target
    Proc,         // procfs of the container's PID namespace
    Sysfs,        // read-only: a new sysfs (no source: the container has its own network
                  // namespace), else the host's /sys (source)
    CgroupFs,     // the container's own cgroups at target, read-only: each hierarchy the host
                  // mounts below it, mounted anew in the container's cgroup namespace
    Bind,         // host source at target, ro or rw
    MaskFile,     // the host's /dev/null over target, if target exists
    MaskDir,      // an empty read-only directory (mode) of the in-memory tmpfs bound over
                  // target, if it exists
    Pin,          // target bound onto itself: a mount point cannot be renamed or removed
    ReadOnly,     // target (and what is below it) made read-only, if it exists
    File,         // a new file at target holding text (in a directory the container gets fresh)
    FileOver,     // a file holding text (appended to target's, with append) over target, if it
                  // exists: the root's own file is never written
    PivotRoot,    // make the new root /
};

struct Step {
    StepKind kind;
    std::string target;
    std::string source;
    mode_t mode = 0;
    bool ro = false;
    // Overlay, RootOverlay: the upper layer's directory on disk and overlayfs's work directory
    // beside it (same file system); both empty: the upper layer is in memory.
    std::string upper = {};
    std::string work = {};
    // MaskDir, MaskFile, Pin over kakuri's own state: the target is opened without following
    // any symlink (failing closed); with make, a missing directory is made first with `mode`
    // (through a bind, on the host; where that is refused, nothing inside could make it either).
    bool own_state = false;
    bool make = false;
    // File, FileOver: what the file holds; FileOver with append: after what target holds.
    std::string text = {};
    bool append = false;
    // Overlay of a --overlay: nosuid, and neither redirects nor metacopy, so that its upper
    // layer holds whole files and whiteouts only (what `kakuri apply` reads).
    bool cow = false;
    bool operator==(const Step& o) const {
        return kind == o.kind && target == o.target && source == o.source && mode == o.mode &&
               ro == o.ro && upper == o.upper && work == o.work && own_state == o.own_state &&
               make == o.make && text == o.text && append == o.append && cow == o.cow;
    }
};

// The spec's parts that apply carries out as they are (who, what may be done, what runs), and the
// steps that set up the rest.
struct Plan {
    unsigned long clone_flags = 0;
    bool loopback = false;  // bring lo up in the private network namespace
    Identity identity;      // the maps are written, and the ids taken on, as it says
    Policy policy;
    std::vector<Step> steps;
    Process process;
    // kakuri returns only once the container is gone (README, "Isolation by default"): pasta
    // to see gone (no port still bound), a cgroup to remove, an upper layer on disk (a change
    // set, a persistent container's layers) that a process the command left running could
    // still write. Else the status comes back as soon as init tells it.
    bool await_teardown = false;
};

Plan make_plan(const ContainerSpec& spec);

// --network=private (README, "A private network"): where the container's resolv.conf sends DNS
// queries, which pasta forwards to the upstream; an address no host has, reached by the default
// route.
inline constexpr const char* kDnsForward = "169.254.1.1";
// Its IPv6 counterpart (a unique local address: pasta takes queries to it, sent through the
// default route to pasta, and sends them to the host's first IPv6 nameserver).
inline constexpr const char* kDnsForward6 = "fd6b:616b:7572:6900::53";
// pasta's arguments (after its name) for the network namespace at netns, which pasta joins
// from the namespace's own user namespace (the keeper runs it there): in the foreground (it
// stays the keeper's child), its pid written to pid_file once it is ready, nothing forwarded
// but the published ports, each port on its own so that one in use fails the start, no path
// from the container's loopback to the host's, the gateway's address the host's loopback only
// with host_loopback.
std::vector<std::string> pasta_arguments(const PrivateNet& net, const std::string& netns,
                                         const std::string& pid_file);

std::string format_step(const Step& s);
// filter_built: whether this kakuri has the default seccomp filter (a test asks for either).
std::string format_plan(const Plan& plan, bool filter_built = seccomp_available());

}  // namespace kakuri
