// userns: writing the uid/gid maps of the container's user namespace (the container itself,
// kakuri as real root, or newuidmap/newgidmap for subordinate ids), taking on the container's
// ids, a function run in such a namespace, and the hint that names the sysctl when the host
// refuses unprivileged user namespaces. The maps themselves are idmap's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "idmap.hpp"
#include "supervise.hpp"

namespace kakuri {

// In the new user namespace, before anything else: deny setgroups (required to
// write a gid map without CAP_SETGID in the parent namespace) and write our
// own single-line maps.
void write_own_maps(const std::vector<IdMapLine>& uid_map, const std::vector<IdMapLine>& gid_map);

// In kakuri, right after the child was made: write its maps, directly (Parent: real root) or
// by running newuidmap and newgidmap (Helpers). On failure the child, still waiting for them,
// is killed and reaped: nothing of it stays behind. Throws Error with the helper's own message.
void write_child_maps(Child& child, MapWriter writer, const std::vector<IdMapLine>& uid_map,
                      const std::vector<IdMapLine>& gid_map, const std::string& newuidmap,
                      const std::string& newgidmap);

// Runs fn in a child of kakuri's, in a new user namespace with these maps (written as for a
// container: Parent or Helpers; Self: a single line of the caller's own ids, written by the
// child, which then cannot change its groups), as root there. With subordinate ids, programs inside
// leave files owned by ids the caller cannot touch on the host; there it is root over every one.
// fn's Error comes back as kakuri's own, errno and exit status kept; `what` ("remove DIR")
// heads the message when no namespace could be made or fn failed without a word.
void run_in_userns(MapWriter writer, const std::vector<IdMapLine>& uid_map,
                   const std::vector<IdMapLine>& gid_map, const std::string& newuidmap,
                   const std::string& newgidmap, const std::string& what,
                   const std::function<void()>& fn);

// In the child, once kakuri has written its maps: take on the container's ids (which host
// root's own ids are not, with --userns) and drop the caller's supplementary groups.
void become(uint32_t uid, uint32_t gid);

// " (hint ...)" naming what on this host blocks unprivileged user namespaces, or "".
std::string userns_hint();

}  // namespace kakuri
