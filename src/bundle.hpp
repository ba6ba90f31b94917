// bundle: kakuri export --bundle BOX DIR: a persistent container as an OCI runtime bundle
// (DIR/config.json, DIR/rootfs) that runc or crun start with the container's isolation.
#pragma once

#include <functional>
#include <string>

#include "container.hpp"
#include "images.hpp"

namespace kakuri {

// The OCI runtime configuration (runtime-spec 1.0.2) of a container whose process is set
// (set_process): its process (args, env, cwd, user, capabilities, no_new_privs), hostname,
// namespaces and id maps, mounts (as make_plan lays them out: fresh directories, /dev, /proc,
// /sys, binds, kakuri's own state pinned and masked), masked and read-only paths, devices,
// limits and the default seccomp filter (seccomp.hpp's rules). Pure. Throws Error for a
// container a bundle cannot hold: one on the host's system directories, one with --overlay.
std::string bundle_config(const ContainerSpec& spec, bool terminal);

// Writes the bundle at dir, which must not exist: made under a hidden name beside it (the root
// copied by images' copy_root, the container's home made in it where missing, config.json
// written) and renamed into place; anything wrong leaves nothing.
void write_bundle(const std::string& config, const CommitFrom& from, const ContainerSpec& spec,
                  const std::string& dir, bool terminal, int verbosity);

}  // namespace kakuri
