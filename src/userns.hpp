// userns: uid/gid maps of the container's user namespace, and the hint that
// names the sysctl when the host refuses unprivileged user namespaces.
#pragma once

#include <string>
#include <vector>

#include "spec.hpp"

namespace kakuri {

std::string format_id_map(const std::vector<IdMapLine>& map);

// In the new user namespace, before anything else: deny setgroups (required to
// write a gid map without CAP_SETGID in the parent namespace) and write our
// own single-line maps.
void write_own_maps(const std::vector<IdMapLine>& uid_map, const std::vector<IdMapLine>& gid_map);

// " (hint ...)" naming what on this host blocks unprivileged user namespaces, or "".
std::string userns_hint();

}  // namespace kakuri
