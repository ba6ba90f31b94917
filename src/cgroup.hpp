// cgroup: the container's cgroup (README, "Resource limits"): where it goes (cgroup v2 that
// kakuri may write, else cgroup v1 as real root; always below kakuri's own cgroup), the files
// that hold its limits, making it and putting init in it, whether the kernel killed in it for
// want of memory, removing it, and removing the empty ones a killed kakuri left.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "limits.hpp"
#include "sys.hpp"

namespace kakuri {

// What locate_cgroup looks at: kakuri's own cgroups and the mounts, as /proc/self shows them.
struct CgroupHost {
    std::string self_cgroup;  // /proc/self/cgroup
    std::string mountinfo;    // /proc/self/mountinfo
    std::string prefix;       // put before every mount point (a unit test's fake tree)
    uid_t uid = 0;
    bool real_root = false;
    pid_t pid = 0;  // kakuri's pid and start time: the container cgroup's name, kakuri-PID-START
    uint64_t start_time = 0;
};
CgroupHost scan_cgroup_host();

enum class CgroupKind { None, V2, V1 };

struct CgroupWrite {
    std::string file;  // in the new cgroup: "memory.max"
    std::string value;
    bool optional = false;  // left out where the kernel has no such file (no swap accounting)
    bool operator==(const CgroupWrite& o) const {
        return file == o.file && value == o.value && optional == o.optional;
    }
};

// One hierarchy the container's cgroup is made in: v2's one, or a v1 one per controller.
struct CgroupHierarchy {
    std::string controllers;  // v1: the hierarchy's ("memory", "cpu,cpuacct"); v2: ""
    std::string parent;       // kakuri's own cgroup there, a directory
    std::vector<CgroupWrite> writes;
};

// Where the container's cgroup goes, decided before anything is made.
struct CgroupPlace {
    CgroupKind kind = CgroupKind::None;
    std::string name;  // kakuri-PID-START, in every parent
    std::vector<CgroupHierarchy> hierarchies;
    // v2, kakuri's own cgroup not the root: processes live only in leaves, so kakuri moves into
    // a leaf of its own (NAME-self) before the parent's subtree_control can enable `enable`.
    bool own_leaf = false;
    std::string enable;   // v2: "+memory +pids" for the parent's cgroup.subtree_control
    std::string refusal;  // None: what is missing and how to get it (one line)
    // kakuri's own cgroup in every hierarchy mounted, where the leftovers of a killed kakuri
    // (or a detached container's, once it stopped) are looked for.
    std::vector<std::string> sweep;
};

// Where the limits that go to a cgroup (memory, pids, cpu) can be applied. Reads the cgroup
// files of the parents it considers (controllers, subtree_control, procs and their owners).
CgroupPlace locate_cgroup(const Limits& limits, const CgroupHost& host);

// The files of a new cgroup that hold the limits, for a controller ("memory", "pids", "cpu").
std::vector<CgroupWrite> limit_writes(CgroupKind kind, const std::string& controller,
                                      const Limits& limits);

// --dry-run's lines: each directory that will be made and what its files get (or the refusal).
std::string format_cgroup(const CgroupPlace& place);

// A container's cgroup, made: its directories go with this object (not with a detached
// container, which outlives kakuri: the next kakuri removes its cgroup once it is empty).
class Cgroup {
public:
    // Makes the directories and writes the limits; nothing made is left on failure. Throws the
    // refusal (exit 125) for a place of kind None.
    static Cgroup make(const CgroupPlace& place);
    Cgroup(Cgroup&& o) noexcept;
    Cgroup& operator=(Cgroup&&) = delete;
    ~Cgroup();
    // Moves a process into the container's cgroup, in every hierarchy.
    void place(pid_t pid) const;
    // How many processes the kernel killed in it for want of memory.
    uint64_t oom_kills() const;
    // Leave the directories to the container (detached); the next kakuri removes them.
    void keep() { dirs_.clear(); }

private:
    Cgroup() = default;
    CgroupKind kind_ = CgroupKind::None;
    std::vector<std::string> dirs_;  // made, in order
    std::string memory_dir_;         // where the memory controller's files are
};

// Moves kakuri into the cgroups of process pid that kakuri made (named kakuri-...), so that what
// `exec` starts in a container draws on its limits. False when pid is in none.
bool join_cgroups_of(pid_t pid);

// Removes the empty cgroups named kakuri-PID-START[-self] in these directories whose kakuri is
// gone (killed before it could remove them). Never anything of another name, never a cgroup
// that still holds a process (the kernel refuses that rmdir).
void remove_stale_cgroups(const std::vector<std::string>& parents);

}  // namespace kakuri
