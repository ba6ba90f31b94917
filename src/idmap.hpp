// idmap: the uid/gid maps of a container's user namespace as data (IdMapLine, who writes them),
// subordinate ids from /etc/subuid and /etc/subgid, names from /etc/passwd, and the maps' text
// (the kernel's and newuidmap's). Pure: userns writes them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kakuri {

struct IdMapLine {
    uint32_t inside = 0;
    uint32_t outside = 0;
    uint32_t count = 1;
    bool operator==(const IdMapLine& o) const {
        return inside == o.inside && outside == o.outside && count == o.count;
    }
};

// Who writes the maps of the container's user namespace.
enum class MapWriter {
    Self,     // the container's init: one line of the caller's own id each, setgroups denied
    Parent,   // kakuri as real root, straight into /proc/PID/{uid,gid}_map
    Helpers,  // kakuri through newuidmap/newgidmap: an unprivileged user's subordinate ids
};

// The id kakuri maps container root to as real root with --userns when root has no subordinate
// range: nobody/nogroup.
constexpr uint32_t kNobodyId = 65534;
// At most this many subordinate ids are mapped: 1..65536 inside.
constexpr uint32_t kSubidCount = 65536;

struct SubidRange {
    uint32_t start = 0;
    uint32_t count = 0;
};

// The user's first range in /etc/subuid or /etc/subgid text, whose lines are
// "OWNER:START:COUNT" with OWNER a name or a number; as shadow does, a line naming the user wins
// over one giving the id. Malformed lines and empty ranges are skipped. false: no range.
bool find_subid_range(const std::string& text, const std::string& name, uint32_t id,
                      SubidRange& out);

// The name /etc/passwd text gives uid, or "". (kakuri is linked statically: no NSS lookups.)
std::string passwd_name(const std::string& text, uint32_t uid);

// self_inside -> self_outside (one id), and the ids 0..N inside but self_inside onto the range in
// order, N = min(count, 65536): "0 caller 1, 1 START N" for root, or for --user (self_inside
// 1000) "0 START 1000, 1000 caller 1, 1001 START+1000 N-1000". Lines sorted by inside id.
std::vector<IdMapLine> subid_map(uint32_t self_inside, uint32_t self_outside,
                                 const SubidRange& range);

// newuidmap/newgidmap's argv: HELPER PID INSIDE OUTSIDE COUNT ...
std::vector<std::string> map_helper_argv(const std::string& helper, pid_t pid,
                                         const std::vector<IdMapLine>& map);

std::string format_id_map(const std::vector<IdMapLine>& map);

}  // namespace kakuri
