// container: a container as plain data, every decision about it (ContainerSpec), which spec
// makes, durable records and plan turns into steps; and what every container gets fresh. Pure.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "idmap.hpp"
#include "limits.hpp"
#include "options.hpp"

namespace kakuri {

struct Bind {
    std::string src;  // absolute host path
    std::string dst;  // absolute container path
    bool ro = false;
    // --overlay (README, "Copy-on-write views"): SRC below, every write to an upper layer kept
    // as a change set in changes_dir, never to SRC. change_set: its id (0: not made yet, as in
    // --dry-run); layer: its directory, resolved (upper/ and work/ in it).
    bool overlay = false;
    unsigned change_set = 0;
    std::string layer = {};
    bool operator==(const Bind& o) const {
        return src == o.src && dst == o.dst && ro == o.ro && overlay == o.overlay &&
               change_set == o.change_set && layer == o.layer;
    }
};

// A symbolic link on the way to a mounted path: `path` (all its directories resolved) leads to
// `target` (resolved). Made inside, it lets the argument reach what was mounted.
struct PathLink {
    std::string path;
    std::string target;
    bool operator==(const PathLink& o) const { return path == o.path && target == o.target; }
};

struct SystemDir {
    std::string path;  // "/usr"
    bool is_symlink = false;
    std::string link_target;  // for symlinks, kept as the host has it
    bool read_only = false;   // a read-only bind instead of an overlay (see make_spec)
    // An overlay, whose upper layer a persistent container keeps: not a link, not read-only.
    bool overlaid() const { return !is_symlink && !read_only; }
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

// Where every container has kernel file systems of its own (a /dev tmpfs, procfs, sysfs) instead of
// the host's: make_plan mounts exactly these, and nothing of the host's below them is visible
// inside or ever mounted for an argument.
inline constexpr const char* kKernelDirs[] = {"/proc", "/sys", "/dev"};

// Where the homes live: on the host's root an empty directory holding only the container's own
// home (README "What a container sees"), so no other home of the host is visible inside.
inline constexpr const char* kHomesDir = "/home";

// How a container's process is made from a caller's request: recorded at create, so that a
// persistent container's every start and exec applies the rules it was created with.
struct ProcessRules {
    std::string auto_mount = "rw";       // "rw", "ro" or "off"
    bool auto_mount_workdir = true;      // the caller's working directory counts as named
    bool clearenv = false;               // --clearenv
    std::vector<std::string> env_unset;  // --unsetenv NAME
    std::vector<std::string> env;        // the config's env: K=V
    std::vector<std::string> env_set;    // -e NAME (the caller's value) or -e K=V
    std::vector<std::string> env_drop;   // the config's env_drop
    std::vector<std::string> env_keep;   // the config's env_keep
    // An image's config (--image): its Env (under the config's env and -e), the command that
    // runs when none is given (Entrypoint and Cmd) and where that starts (WorkingDir).
    std::vector<std::string> image_env;
    std::vector<std::string> image_command;
    std::string image_workdir;
    bool operator==(const ProcessRules& o) const {
        return auto_mount == o.auto_mount && auto_mount_workdir == o.auto_mount_workdir &&
               clearenv == o.clearenv && env_unset == o.env_unset && env == o.env &&
               env_set == o.env_set && env_drop == o.env_drop && env_keep == o.env_keep &&
               image_env == o.image_env && image_command == o.image_command &&
               image_workdir == o.image_workdir;
    }
};

// Who the container's processes are: the user namespace, its id maps and who writes them, the
// ids the command takes on inside.
struct Identity {
    bool userns = true;
    std::vector<IdMapLine> uid_map;
    std::vector<IdMapLine> gid_map;
    MapWriter map_writer = MapWriter::Self;
    std::string newuidmap, newgidmap;  // MapWriter::Helpers: the helpers' absolute paths
    uint32_t uid = 0, gid = 0;         // the command's ids inside (taken on when not Self)
    bool user = false;     // --user: the command runs as the caller's ids, without capabilities
    uid_t caller_uid = 0;  // who made the container (exec --user runs as these ids inside)
    gid_t caller_gid = 0;
};

// An image a container runs on (--image, README "Images"): its tree, the read-only layer below
// the container's own, and what its config says the process runs with.
struct ImageUse {
    std::string name;
    std::string rootfs;  // resolved host path: images_dir/NAME/rootfs
    std::vector<std::string> env;
    std::vector<std::string> command;  // Entrypoint and Cmd
    std::string workdir;
};

// What the container's file system is made of.
struct Layout {
    std::string rootfs;             // absolute; empty: host mode (the host's system directories)
    std::string image;              // the image rootfs is the tree of (--image); empty: none
    std::vector<SystemDir> system;  // overlaid (or linked) host system directories
    std::string home;               // empty: no home directory
    std::vector<Bind> binds;        // in order; a later one over the same place wins (src resolved)
    // Symlinks made inside, in the container's own space, so that an argument that went through
    // links on the host reaches what was mounted for it (path -> target, both host paths).
    std::vector<PathLink> links;
    std::vector<HiddenPath> hidden;  // kakuri's own state, hidden wherever it would show
    // A persistent container's directory: upper layers in upper/NAME (work
    // dirs in work/NAME), the home in home/. Empty: a temporary container.
    std::string persist_dir;
};

// The command: what runs, with what environment, where; and the rules every start and exec
// makes those by.
// What a temporary container's note about discarded work looks at (README, "What is
// discarded"): the places its writes vanish with. Empty lists: nothing to look at.
struct DiscardWatch {
    bool on = false;                 // temporary, not -q, note_discarded
    bool verbose = false;            // -v: caches and histories too
    std::vector<std::string> dirs;   // walked: the home, a working directory of its own
    std::vector<std::string> paths;  // each alone: what the arguments named and was not mounted
};
struct Process {
    std::vector<std::string> argv;
    std::vector<std::string> env;
    std::string cwd;
    // Where the command starts when cwd cannot be entered (one kakuri chose: "/"; -w: "", fail).
    std::string cwd_fallback;
    ProcessRules rules;
    DiscardWatch discard;  // init's note, after the command, on what vanishes
    // Exec'd through kakuri's sealed trampoline, init not dumpable (a run's choice, see
    // sealed.hpp's ExecGuard; never recorded).
    bool exec_trampoline = false;
};

// --network=private: a network namespace of its own with an interface, a default route and DNS,
// connected to the outside by pasta (README, "A private network").
struct PrivateNet {
    bool on = false;
    bool host_loopback = false;    // pasta maps the gateway's address to the host's loopback
    std::string dns;               // the DNS upstream; empty: the host's resolv.conf's first
    std::vector<Publish> publish;  // host ports forwarded inside
    // Which of pasta's DNS forward addresses the container's resolv.conf names (plan.hpp's
    // choose_dns_forwards): the family of the upstream, or of the host's nameservers. Chosen
    // at each start from the host's resolv.conf, never recorded.
    bool dns4 = true, dns6 = false;
    bool operator==(const PrivateNet& o) const {
        return on == o.on && host_loopback == o.host_loopback && dns == o.dns &&
               publish == o.publish;
    }
};

// What the container may do and what it is called: the network it shares, its hostname, the
// syscall filter, the capabilities its command keeps, the resources it may use.
struct Policy {
    bool share_net = false;
    PrivateNet net;  // with net.on, the network namespace is pasta's to connect
    std::string hostname = "kakuri";
    bool seccomp = true;
    uint64_t caps = 0;  // what the command keeps (permitted, effective, bounding)
    Limits limits;      // what it may use: memory, processes, CPUs, in-memory writes
};

// A persistent container's directory (Layout::persist_dir) keeps what the container writes: its
// home, and the upper layer of its root filesystem or of each overlaid system directory beside
// overlayfs's work directory (the same file system, as overlayfs requires). Paths relative to that
// directory: make_plan mounts them, create makes them.
constexpr const char* kPersistHome = "home";
struct PersistLayer {
    std::string upper;  // upper/root, upper/usr
    std::string work;   // work/root, work/usr
};
PersistLayer persist_root_layer();
PersistLayer persist_layer(const SystemDir& dir);
// Every directory a persistent container of this layout keeps, in the order create makes them.
std::vector<std::string> persist_dirs(const Layout& layout);

// Which forward addresses the container's resolv.conf names (net.dns4, net.dns6), from the
// host's resolv.conf (read_text reads it; not asked with --dns): pasta sends the queries to each
// address to the first upstream of the same family. --dns: its family only. Else IPv4 first where
// the host has an IPv4 nameserver (or none at all) and IPv6 where it has an IPv6 one: a host with
// only IPv6 nameservers gets only the IPv6 address, so that no lookup first waits out an IPv4 query
// nobody answers.
void choose_dns_forwards(PrivateNet& net,
                         const std::function<std::string(const std::string&)>& read_text);

// Every decision about one container.
struct ContainerSpec {
    Identity identity;
    Layout layout;
    Process process;
    Policy policy;
    std::vector<std::string> notes;  // what -v reports: skipped profile entries, auto-mounts
};

}  // namespace kakuri
