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
#include "cli.hpp"
#include "config.hpp"
#include "envrules.hpp"
#include "paths.hpp"  // what spec's callers (commands.cpp) expand and normalize with
#include "seccomp.hpp"
#include "userns.hpp"

namespace kakuri {

// What kakuri needs to know about the caller and the host; filled by scan_host().
struct HostInfo {
    uid_t uid = 0;
    gid_t gid = 0;
    bool real_root = false;
    std::string home;   // $HOME
    std::string cwd;    // getcwd()
    std::string shell;  // $SHELL
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

HostInfo scan_host();

struct Bind {
    std::string src;  // absolute host path
    std::string dst;  // absolute container path
    bool ro = false;
    bool operator==(const Bind& o) const { return src == o.src && dst == o.dst && ro == o.ro; }
};

// "SRC[:DST][:ro|:rw]": ~ expands to home; a relative SRC is taken from cwd.
// named: what an error starts with (a config's entry: its place, never its text); empty:
// "bad bind 'TEXT'".
Bind parse_bind_spec(const std::string& text, bool force_ro, const std::string& home,
                     const std::string& cwd, const std::string& named = "");

// RFC 1123: dot-separated labels of 1-63 letters, digits and '-', none starting or ending
// with '-'; at most 64 characters, the kernel's limit.
bool valid_hostname(const std::string& name);

struct SystemDir {
    std::string path;  // "/usr"
    bool is_symlink = false;
    std::string link_target;  // for symlinks, kept as the host has it
    bool read_only = false;   // a read-only bind instead of an overlay (see make_spec)
};

// kakuri's own state on the host: the containers directory and the config files' directories
// (or a config file named by --config or $KAKURI_CONFIG, which lies among the user's files). A
// container never gets a bind from inside it, and wherever a bind, a profile, an automatic mount,
// a system directory or a root filesystem shows it, an empty read-only mount hides it.
struct HiddenPath {
    std::string path;  // resolved host path
    bool dir = true;   // a directory or a file
    mode_t mode = 0;   // a directory's mode (as Store::create makes containers_dir)
    std::string what;  // for messages: "containers_dir", "config directory", "config file"
    // A missing directory is made where a bind shows it, lest a program make it and plant a
    // record or config; not /etc/kakuri: whoever may make that is host root already.
    bool make = true;
    bool operator==(const HiddenPath& o) const {
        return path == o.path && dir == o.dir && mode == o.mode && what == o.what && make == o.make;
    }
};

// Where every container gets a new, empty tmpfs over the host's directory: make_plan mounts
// exactly these (/var/tmp is a root filesystem's own), and automatic mounts and visible_inside
// know them from here.
struct FreshDir {
    const char* path;
    mode_t mode;
};
std::vector<FreshDir> fresh_dirs(bool rootfs);

// How a container's process is made from a caller's request: recorded at create, so that a
// persistent container's every start and exec applies the rules it was created with.
struct ProcessRules {
    std::string auto_mount = "rw";         // "rw", "ro" or "off"
    bool auto_mount_workdir = true;        // the caller's working directory counts as named
    bool clearenv = false;                 // --clearenv
    std::vector<std::string> env_unset;    // --unsetenv NAME
    std::vector<std::string> env;          // the config's env: K=V
    std::vector<std::string> env_set;      // -e NAME (the caller's value) or -e K=V
    std::vector<std::string> env_drop;     // the config's env_drop
    std::vector<std::string> env_keep;     // the config's env_keep
    bool operator==(const ProcessRules& o) const {
        return auto_mount == o.auto_mount && auto_mount_workdir == o.auto_mount_workdir &&
               clearenv == o.clearenv && env_unset == o.env_unset &&
               env == o.env && env_set == o.env_set && env_drop == o.env_drop &&
               env_keep == o.env_keep;
    }
};

struct ContainerSpec {
    bool userns = true;
    std::vector<IdMapLine> uid_map;
    std::vector<IdMapLine> gid_map;
    MapWriter map_writer = MapWriter::Self;
    std::string newuidmap, newgidmap;  // MapWriter::Helpers: the helpers' absolute paths
    uint32_t uid = 0, gid = 0;         // the command's ids inside (taken on when not Self)
    bool share_net = false;
    std::string hostname = "kakuri";
    std::string rootfs;             // absolute; empty: host mode (the host's system directories)
    std::vector<SystemDir> system;  // overlaid (or linked) host system directories
    std::string home;               // empty: no home directory
    std::vector<Bind> binds;        // in order; a later one over the same place wins (src resolved)
    // Symlinks made inside, in the container's own space, so that an argument that went through
    // links on the host reaches what was mounted for it (path -> target, both host paths).
    std::vector<PathLink> links;
    std::vector<HiddenPath> hidden;  // kakuri's own state, hidden wherever it would show
    std::vector<std::string> env;
    std::string cwd;
    std::vector<std::string> argv;
    bool seccomp = true;
    uint64_t caps = 0;  // what the command keeps (permitted, effective, bounding)
    bool user = false;  // --user: the command runs as the caller's ids, without capabilities
    uid_t caller_uid = 0;  // who made the container (exec --user runs as these ids inside)
    gid_t caller_gid = 0;
    ProcessRules rules;
    int verbosity = 0;
    std::vector<std::string> notes;  // what -v reports: skipped profile entries, auto-mounts
    // A persistent container's directory: upper layers in upper/NAME (work
    // dirs in work/NAME), the home in home/. Empty: a temporary container.
    std::string persist_dir;
};

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
ContainerSpec make_spec(const Options& opts, const Config& cfg, const HostInfo& host);

// kakuri's own state (containers_dir, the config files this run and later ones read), which
// every container hides wherever it would show; config_path is --config's file, if any.
std::vector<HiddenPath> own_state(const std::string& config_path, const Config& cfg,
                                  const HostInfo& host);

// Everything about the container but its process: what `create` decides once and records.
ContainerSpec make_container(const Options& opts, const Config& cfg, const HostInfo& host);

// A process in the container: the command (empty: the caller's shell), the mounts its
// arguments name, its environment by the spec's rules (plus exec's -e), where it starts.
struct ProcessRequest {
    std::vector<std::string> command;
    std::string workdir;                 // -w; empty: by the rules of make_spec
    std::vector<std::string> env_set;    // exec -e NAME or K=V, after the recorded ones
    bool home_by_default = false;        // exec: start in the home, not the caller's cwd
};
void set_process(ContainerSpec& spec, const ProcessRequest& req, const HostInfo& host);
ContainerSpec make_spec(const Options& opts, const HostInfo& host);  // built-in defaults

// kakuri config: every value with where it came from. filter_built: whether this kakuri has the
// default seccomp filter (a test asks for either).
std::string format_config(const Config& cfg, bool filter_built = seccomp_available());

// Would host path p be seen at the same path, with the same content, inside?
bool visible_inside(const std::string& p, const ContainerSpec& spec);

}  // namespace kakuri
