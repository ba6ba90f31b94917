// spec: Options + what the host looks like -> ContainerSpec, the plain-data
// description of one container. Everything here is pure but scan_host().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "automount.hpp"
#include "config.hpp"
#include "container.hpp"
#include "envrules.hpp"
#include "features.hpp"
#include "options.hpp"

namespace kakuri {

// What kakuri needs to know about the caller and the host; filled by scan_host().
struct HostInfo {
    uid_t uid = 0;
    gid_t gid = 0;
    bool real_root = false;
    std::string home;   // $HOME
    std::string cwd;    // getcwd()
    std::string shell;  // $SHELL
    // The kakuri binary's host path (sealed.hpp's kakuri_binary; empty when unknown): never
    // writable through a bind (own_state).
    std::string binary;
    // The caller's environment: views into the process's environment block, never copies
    // (see forget_environment); in unit tests, string literals.
    std::vector<std::string_view> environ;
    struct RootEntry {
        std::string name;  // "usr", "bin", "lib64", ...
        bool is_symlink = false;
        std::string link_target;
    };
    std::vector<RootEntry> root_entries;  // the host's system directories that exist
    // File-system facts, as callbacks so that unit tests can give a table.
    std::function<PathKind(const std::string&)> kind = [](const std::string&) {
        return PathKind::Missing;
    };
    std::function<bool(const std::string&)> executable = [](const std::string&) { return false; };
    // The host path with every symlink resolved, as realpath(3) does; a part that does not
    // exist is kept as written, so a dangling link resolves to where it points.
    std::function<std::string(const std::string&)> resolve = [](const std::string& p) { return p; };
    // What path is inside the tree root, symlinks resolved within root as the container will see
    // them (an absolute link in a root filesystem points into it, not at the host's file).
    std::function<PathKind(const std::string& root, const std::string& path)> kind_in_root =
        [](const std::string&, const std::string&) { return PathKind::Missing; };
    // The text of a small host file (/etc/passwd, /etc/subuid), "" when it cannot be read.
    std::function<std::string(const std::string&)> read_text = [](const std::string&) {
        return std::string();
    };
};

// binary: the kakuri binary's host path (sealed.hpp's kakuri_binary), a parameter so that no
// caller can leave it out (spec may not call sealed).
HostInfo scan_host(const std::string& binary);

// "SRC[:DST][:ro|:rw]": ~ expands to home; a relative SRC is taken from cwd.
// named: what an error starts with (a config's entry: its place, never its text); empty:
// "bad bind 'TEXT'".
Bind parse_bind_spec(const std::string& text, bool force_ro, const std::string& home,
                     const std::string& cwd, const std::string& named = "");

// RFC 1123: dot-separated labels of 1-63 letters, digits and '-', none starting or ending
// with '-'; at most 64 characters, the kernel's limit.
bool valid_hostname(const std::string& name);

// kakuri's own state for these options and config: containers_dir, the config files'
// directories (/etc/kakuri, ${XDG_CONFIG_HOME:-~/.config}/container and ~/.config/container),
// and a config file named by --config or $KAKURI_CONFIG; each resolved through host.resolve.
std::vector<HiddenPath> own_state(const Options& opts, const Config& cfg, const HostInfo& host);

// The config files' values with the command line's on top (origin "command line").
Config effective_config(const Options& opts, Config cfg);

// The config's additions to the built-in credential rule (env_drop, env_keep).
EnvFilter env_filter(const Config& cfg);

// Options + config + host -> the container. Throws Error (125) on bad input.
// make_container() then set_process().
// image: the image --image named (images.hpp finds it), or nullptr.
ContainerSpec make_spec(const Options& opts, const Config& cfg, const HostInfo& host,
                        const ImageUse* image = nullptr);

// kakuri's own state (containers_dir, the config files this run and later ones read), which
// every container hides wherever it would show; config_path is --config's file, if any.
std::vector<HiddenPath> own_state(const std::string& config_path, const Config& cfg,
                                  const HostInfo& host);

// Everything about the container but its process: what `create` decides once and records.
ContainerSpec make_container(const Options& opts, const Config& cfg, const HostInfo& host,
                             const ImageUse* image = nullptr);

// A process in the container: the command (empty: the caller's shell), the mounts its
// arguments name, its environment by the spec's rules (plus exec's -e), where it starts.
struct ProcessRequest {
    std::vector<std::string> command;
    std::string workdir;               // -w; empty: by the rules of make_spec
    std::vector<std::string> env_set;  // exec -e NAME or K=V, after the recorded ones
    bool home_by_default = false;      // exec: start in the home, not the caller's cwd
};
void set_process(ContainerSpec& spec, const ProcessRequest& req, const HostInfo& host);

// The user namespace an unprivileged caller reads and writes a change set's upper layer from
// (README, "Copy-on-write views"): root over the caller's own ids and, with subids, over the
// subordinate range --subids maps (throws as --subids does when there is none).
Identity layer_identity(const Config& cfg, const HostInfo& host, bool subids);
ContainerSpec make_spec(const Options& opts, const HostInfo& host);  // built-in defaults

// kakuri config: every value with where it came from. filter_built: whether this kakuri has the
// default seccomp filter (a test asks for either).
std::string format_config(const Config& cfg, bool filter_built = seccomp_available());

// Would host path p be seen at the same path, with the same content, inside?
bool visible_inside(const std::string& p, const Layout& layout);

}  // namespace kakuri
