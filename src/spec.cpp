// spec: turns what the user asked for and what the host has into a ContainerSpec.
#include "spec.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <memory>

#include "capnames.hpp"
#include "envrules.hpp"
#include "idmap.hpp"
#include "limits.hpp"
#include "paths.hpp"
#include "sys.hpp"

extern char** environ;

namespace kakuri {

namespace {

const char* const kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool is_system_name(const std::string& n) {
    return n == "usr" || n == "etc" || n == "opt" || n == "var" || n == "bin" || n == "sbin" ||
           n.compare(0, 3, "lib") == 0;
}

// The order system directories are set up in: /usr first, the links into it next.
int system_rank(const std::string& n) {
    static const char* const order[] = {"usr", "bin", "sbin", "lib", "etc", "opt", "var"};
    for (int i = 0; i < 7; ++i)
        if (n == order[i]) return i;
    return 3;  // lib32, lib64, libx32, ... with the libs
}

std::string env_key(std::string_view kv) {
    return std::string(kv.substr(0, kv.find('=')));
}

void env_put(std::vector<std::string>& env, const std::string& kv) {
    std::string key = env_key(kv);
    auto it = std::find_if(env.begin(), env.end(),
                           [&](const std::string& e) { return env_key(e) == key; });
    if (it != env.end())
        *it = kv;
    else
        env.push_back(kv);
}

void env_remove(std::vector<std::string>& env, const std::string& key) {
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](const std::string& e) { return env_key(e) == key; }),
              env.end());
}

bool env_has(const std::vector<std::string>& env, const std::string& key) {
    return std::any_of(env.begin(), env.end(),
                       [&](const std::string& e) { return env_key(e) == key; });
}

// What follows a '=' may be a credential: never in the message.
void check_env_key(const std::string& key, const std::string& what) {
    size_t eq = key.find('=');
    if (eq != std::string::npos)
        throw Error(what + ": '" + key.substr(0, eq) + "=...' is not a variable name");
    if (key.empty()) throw Error(what + ": a variable name is missing");
}

// What a walked prefix of a host path is (resolve_host_path): missing (or a link that cannot be
// read), there and no link, or a link to target. Kept for the run: the home, the binary's
// directory and the fresh directories share their prefixes.
struct Prefix {
    enum Kind { Missing, Plain, Link } kind;
    std::string target;
};
using PrefixCache = std::map<std::string, Prefix>;

const Prefix& look_at(const std::string& path, PrefixCache& cache) {
    auto it = cache.find(path);
    if (it != cache.end()) return it->second;
    Prefix p{Prefix::Missing, {}};
    struct stat st;
    if (lstat(path.c_str(), &st) == 0) {
        p.kind = Prefix::Plain;
        if (S_ISLNK(st.st_mode)) {
            char buf[PATH_MAX];
            ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
            p.kind = n < 0 ? Prefix::Missing : Prefix::Link;
            if (n >= 0) p.target.assign(buf, static_cast<size_t>(n));
        }
    }
    return cache.emplace(path, std::move(p)).first->second;
}

// realpath(3) that keeps going where the path stops existing: a dangling link resolves to where
// it points, a missing rest is appended as written. A link that cannot be read, or too many
// links, leave the rest unresolved (the kernel would not get through either).
std::string resolve_host_path(const std::string& path, PrefixCache& cache) {
    std::vector<std::string> todo;  // components still to walk, the next one last
    auto push_all = [&](const std::string& p) {
        std::vector<std::string> parts = path_components(p);
        todo.insert(todo.end(), parts.rbegin(), parts.rend());
    };
    push_all(path);
    std::vector<std::string> done;
    int links = 0;
    bool missing = false;
    while (!todo.empty()) {
        std::string part = std::move(todo.back());
        todo.pop_back();
        if (part == "..") {
            if (!done.empty()) done.pop_back();
            continue;
        }
        done.push_back(part);
        if (missing) continue;
        const Prefix& at = look_at(join_components(done), cache);
        if (at.kind == Prefix::Plain) continue;
        if (at.kind == Prefix::Missing || ++links > 40) {
            missing = true;
            continue;
        }
        const std::string target = at.target;
        done.pop_back();
        if (!target.empty() && target[0] == '/') done.clear();
        push_all(target);
    }
    return join_components(done);
}

}  // namespace

bool valid_hostname(const std::string& name) {
    // RFC 1123 labels; Linux keeps at most 64 bytes (__NEW_UTS_LEN).
    if (name.empty() || name.size() > 64) return false;
    size_t start = 0;
    for (;;) {
        size_t end = name.find('.', start);
        if (end == std::string::npos) end = name.size();
        std::string label = name.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (unsigned char c : label)
            if (!(c < 0x80 && (std::isalnum(c) || c == '-'))) return false;
        if (end == name.size()) return true;
        start = end + 1;
    }
}

HostInfo scan_host(const std::string& binary) {
    HostInfo h;
    h.binary = binary;
    h.uid = getuid();
    h.gid = getgid();
    h.real_root = h.uid == 0 && geteuid() == 0;
    const char* home = getenv("HOME");
    h.home = home ? home : "";
    const char* shell = getenv("SHELL");
    h.shell = shell && *shell ? shell : "/bin/sh";
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf)) h.cwd = buf;
    // Views, not copies: the block is the only copy of the caller's environment in kakuri's
    // memory, so that a container's init can forget it (forget_environment).
    for (char** e = environ; e && *e; ++e) h.environ.emplace_back(*e);
    // Asked once per path per run too (the working directory, a bind's source, again and
    // again).
    h.kind = [known = std::make_shared<std::map<std::string, PathKind>>()](const std::string& p) {
        auto it = known->find(p);
        if (it != known->end()) return it->second;
        struct stat st;
        PathKind k = PathKind::Missing;
        if (stat(p.c_str(), &st) == 0)
            k = S_ISDIR(st.st_mode) ? PathKind::Directory : PathKind::File;
        known->emplace(p, k);
        return k;
    };
    h.executable = [](const std::string& p) {
        struct stat st;
        return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
    };
    // Each path and each of its prefixes walked once per run: the home, the binary and the
    // fresh directories are asked for again and again while the spec is made (what is done
    // with a path opens it anew).
    struct Known {
        std::map<std::string, std::string> paths;
        PrefixCache prefixes;
    };
    h.resolve = [known = std::make_shared<Known>()](const std::string& p) {
        auto it = known->paths.find(p);
        if (it == known->paths.end())
            it = known->paths.emplace(p, resolve_host_path(p, known->prefixes)).first;
        return it->second;
    };
    h.kind_in_root = [](const std::string& root, const std::string& p) {
        UniqueFd r(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        std::string rel = p.find_first_not_of('/') == std::string::npos
                              ? "."
                              : p.substr(p.find_first_not_of('/'));
        UniqueFd f(r ? sys_openat2(r.get(), rel.c_str(), O_PATH | O_CLOEXEC, 0,
                                   RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
                     : -1);
        struct stat st;
        if (!f || fstat(f.get(), &st) != 0) return PathKind::Missing;
        return S_ISDIR(st.st_mode) ? PathKind::Directory : PathKind::File;
    };
    h.read_text = [](const std::string& p) {
        std::string text;
        return read_file(p, text) ? text : std::string();
    };

    DIR* d = opendir("/");
    if (!d) throw Error("read the host's /", errno);
    while (dirent* de = readdir(d)) {
        std::string n = de->d_name;
        if (!is_system_name(n)) continue;
        struct stat st;
        if (fstatat(dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        HostInfo::RootEntry re;
        re.name = n;
        if (S_ISLNK(st.st_mode)) {
            ssize_t len = readlinkat(dirfd(d), n.c_str(), buf, sizeof buf - 1);
            if (len < 0) continue;
            re.is_symlink = true;
            re.link_target.assign(buf, static_cast<size_t>(len));
        } else if (!S_ISDIR(st.st_mode)) {
            continue;
        }
        h.root_entries.push_back(re);
    }
    closedir(d);
    return h;
}

Bind parse_bind_spec(const std::string& text, bool force_ro, const std::string& home,
                     const std::string& cwd, const std::string& named) {
    const std::string bad = named.empty() ? "bad bind " + shown(text) : named;
    const BindText t = split_bind(text);
    if (t.mode == "rw" && force_ro)
        throw Error("--ro-bind " + shown(text) + ": ':rw' contradicts --ro-bind");
    if (t.mode == "overlay" && force_ro)
        throw Error("--ro-bind " + shown(text) + ": ':overlay' contradicts --ro-bind");
    if (!t.well_formed) throw Error(bad + ": expected SRC[:DST][:ro|:overlay]");
    Bind b;
    b.ro = force_ro || t.mode == "ro";
    b.overlay = t.mode == "overlay";
    std::string src = expand_tilde(t.src, home);
    if (src[0] != '/') src = cwd + "/" + src;
    b.src = normalize_path(src);
    std::string dst = t.dst.empty() ? b.src : expand_tilde(t.dst, home);
    if (dst[0] != '/') throw Error(bad + ": the destination must be an absolute path");
    b.dst = normalize_path(dst);
    if (b.dst == "/") throw Error(bad + ": cannot bind over the container's /");
    return b;
}

bool visible_inside(const std::string& p, const Layout& layout) {
    // The last bind covering p decides, since a later bind hides what is below it.
    for (auto it = layout.binds.rbegin(); it != layout.binds.rend(); ++it)
        if (path_within(p, it->dst)) return it->src == it->dst;
    // Fresh file systems and the empty home hide what the host has there,
    // even inside an overlaid system directory (/var/tmp, a home in /var/lib).
    for (const auto& f : fresh_dirs(!layout.rootfs.empty()))
        if (path_within(p, f.path)) return false;
    for (const char* k : kKernelDirs)
        if (path_within(p, k)) return false;
    if (path_within(p, kHomesDir)) return false;
    if (!layout.home.empty() && path_within(p, layout.home)) return false;
    for (const auto& s : layout.system)
        if (!s.is_symlink && path_within(p, s.path)) return true;
    return false;
}

namespace {

const Origin kCommandLine{"command line", 0};

std::string where(const Origin& o) {
    if (o.file.empty()) return "default";
    if (o.line == 0) return o.file;
    return o.file + ":" + std::to_string(o.line);
}

template <class T>
void override_with(Setting<T>& s, const T& v) {
    s.value = v;
    s.origin = kCommandLine;
    s.set = true;
}

// No container gets a mount from inside kakuri's own state (a record, a config file).
void refuse_own_state(const std::string& resolved, const std::string& named,
                      const ContainerSpec& s) {
    for (const auto& st : s.layout.hidden)
        if (path_within(resolved, st.path))
            throw Error(named + ": " + resolved + " is inside kakuri's own state (" + st.what +
                        " " + st.path + "), which no container may reach");
}

// A bind's source is taken for what it resolves to on the host: that is what gets mounted
// (opened again without following any link, mounts.cpp), and what kakuri's own state is
// compared with.
void add_bind(ContainerSpec& s, Bind b, const std::string& named, const HostInfo& h) {
    b.src = h.resolve(b.src);
    refuse_own_state(b.src, named, s);
    // Now, not when mounting: create must not record a container that cannot start.
    const PathKind kind = h.kind(b.src);
    if (kind == PathKind::Missing) throw Error(named + ": " + shown(b.src) + " does not exist");
    // overlayfs stacks directories only.
    if (b.overlay && kind != PathKind::Directory)
        throw Error(named + ": " + shown(b.src) + " is not a directory (an overlay is of a " +
                    "directory; --bind shows a file)");
    s.layout.binds.push_back(b);
}

// Profile entries whose source is missing are skipped (and said with -v);
// anything else wrong in them is the config's error, at its line.
void add_profile(ContainerSpec& s, const Config& cfg, const std::string& name, const Origin& asked,
                 const HostInfo& h) {
    auto it = cfg.profiles.find(name);
    if (it == cfg.profiles.end()) {
        std::string msg = "unknown bind profile '" + name + "'";
        if (asked.line) msg = where(asked) + ": " + msg;
        throw Error(msg + (cfg.profiles.empty() ? " (no profiles are defined)" : ""));
    }
    for (size_t i = 0; i < it->second.entries.size(); ++i) {
        const std::string& entry = it->second.entries[i];
        // A config's values are never quoted in an error (see config.cpp): the entry's place.
        const std::string named =
            where(it->second.origin) + ": profile '" + name + "': entry " + std::to_string(i + 1);
        Bind b = parse_bind_spec(entry, false, h.home, h.cwd, named);
        if (h.kind(b.src) == PathKind::Missing) {
            s.notes.push_back("profile " + name + ": skipped " + entry + " (" + b.src +
                              " does not exist)");
            continue;
        }
        add_bind(s, b, named, h);
    }
}

// The first executable NAME on the caller's PATH (the default PATH when it has none).
std::string find_on_path(const std::string& name, const HostInfo& h) {
    for (const auto& dir : split(env_value(h.environ, "PATH").value_or(kDefaultPath))) {
        const std::string file = normalize_path(dir + "/" + name);
        if (!dir.empty() && dir[0] == '/' && h.executable(file)) return file;
    }
    return "";
}

// Who the container's root is (README, "What a container sees": Identity) and who writes the id
// maps.
void set_identity(ContainerSpec& s, const Options& opts, const Config& cfg, const HostInfo& h) {
    const bool user = cfg.user.value;
    s.identity.uid = user ? h.uid : 0;
    s.identity.gid = user ? h.gid : 0;
    const bool subids = cfg.subids.value;
    const std::string asked = cfg.subids.origin.file == kCommandLine.file
                                  ? std::string("--subids")
                                  : where(cfg.subids.origin) + ": subids = true";

    if (h.real_root) {
        s.identity.userns = opts.userns;
        if (!s.identity.userns) {
            if (subids) s.notes.push_back(asked + ": no effect as real root without --userns");
            return;
        }
        // Root's own subordinate range when it has one (as podman and docker's userns-remap
        // use it), else one unprivileged id: nobody.
        s.identity.map_writer = MapWriter::Parent;
        SubidRange ur, gr;
        if (find_subid_range(h.read_text("/etc/subuid"), "root", 0, ur) &&
            find_subid_range(h.read_text("/etc/subgid"), "root", 0, gr)) {
            s.identity.uid_map = {{0, ur.start, std::min(ur.count, kSubidCount)}};
            s.identity.gid_map = {{0, gr.start, std::min(gr.count, kSubidCount)}};
        } else if (subids) {
            throw Error(asked + ": no range for root in /etc/subuid and /etc/subgid");
        } else {
            s.identity.uid_map = {{0, kNobodyId, 1}};
            s.identity.gid_map = {{0, kNobodyId, 1}};
        }
        return;
    }

    s.identity.userns = true;
    if (!subids) {
        s.identity.uid_map = {{s.identity.uid, h.uid, 1}};
        s.identity.gid_map = {{s.identity.gid, h.gid, 1}};
        return;
    }
    // Only setuid helpers may map ids the caller does not own; kakuri runs them.
    const std::pair<const char*, std::string*> helpers[] = {{"newuidmap", &s.identity.newuidmap},
                                                            {"newgidmap", &s.identity.newgidmap}};
    for (const auto& [name, path] : helpers) {
        *path = find_on_path(name, h);
        if (path->empty())
            throw Error(asked + ": " + name + " not found (install the uidmap package)");
    }
    // newuidmap knows the caller by name, as /etc/subuid mostly does; both files are keyed by
    // the user, not the group.
    const std::string name = passwd_name(h.read_text("/etc/passwd"), h.uid);
    const std::string who = name.empty() ? std::to_string(h.uid) : name;
    SubidRange ur, gr;
    const std::pair<const char*, SubidRange*> files[] = {{"/etc/subuid", &ur},
                                                         {"/etc/subgid", &gr}};
    for (const auto& [file, range] : files) {
        if (!find_subid_range(h.read_text(file), name, h.uid, *range))
            throw Error(asked + ": no range for " + who + " in " + file +
                        " (an administrator adds one with: usermod --add-subuids " +
                        "100000-165535 --add-subgids 100000-165535 " + who + ")");
    }
    s.identity.map_writer = MapWriter::Helpers;
    s.identity.uid_map = subid_map(s.identity.uid, h.uid, ur);
    s.identity.gid_map = subid_map(s.identity.gid, h.gid, gr);
}

std::string list(const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + config_string(v[i]);
    return out + "]";
}

bool in_kernel_dir(const std::string& p) {
    for (const char* k : kKernelDirs)
        if (path_within(p, k)) return true;
    return false;
}

// In a root filesystem, what the tree has and the system directories' names are the tree's:
// `cat /etc/os-release` means its file, and the host's /etc stays out.
bool tree_owned(const std::string& p, const ContainerSpec& s, const HostInfo& h) {
    if (s.layout.rootfs.empty()) return false;
    size_t end = p.find('/', 1);
    std::string top = p.substr(1, end == std::string::npos ? std::string::npos : end - 1);
    return is_system_name(top) || h.kind_in_root(s.layout.rootfs, p) != PathKind::Missing;
}

// The container as the automount and command rules see it: what is visible inside (s's binds as
// they are when asked), what may never be mounted, the fresh directories.
HostView container_view(const ContainerSpec& s, const HostInfo& h) {
    // The fresh and kernel directories as the host has them, and as their links there lead
    // (/var/run -> /run), since the rules look at resolved paths.
    std::vector<std::string> fresh, kernel;
    for (const auto& f : fresh_dirs(!s.layout.rootfs.empty())) {
        fresh.push_back(f.path);
        if (h.resolve(f.path) != f.path) fresh.push_back(h.resolve(f.path));
    }
    for (const char* k : kKernelDirs) {
        kernel.push_back(k);
        if (h.resolve(k) != k) kernel.push_back(h.resolve(k));
    }
    HostView view;
    view.home = s.layout.home;
    view.cwd = h.cwd;
    view.kind = h.kind;
    view.resolve = h.resolve;
    view.visible = [&s, &h](const std::string& p) {
        return tree_owned(p, s, h) || visible_inside(p, s.layout);
    };
    // The container's own /proc, /sys and /dev stand where the host's would: never mount host
    // devices or kernel files because an argument names them.
    view.refused = [&s, kernel](const std::string& p) -> std::string {
        for (const auto& k : kernel)
            if (path_within(p, k)) return "the container has its own " + k;
        for (const auto& st : s.layout.hidden)
            if (path_within(p, st.path))
                return "it is kakuri's own state (" + st.what + " " + st.path + ")";
        return "";
    };
    view.fresh = fresh;
    return view;
}

// Automatic mounts of the command's path arguments and of the working directory (workdir; ""
// for none), decided on what each resolves to.
void add_auto_mounts(ContainerSpec& s, bool ro, const HostInfo& h, const std::string& workdir) {
    const HostView view = container_view(s, h);
    AutoMounts am = plan_auto_mounts(
        std::vector<std::string>(s.process.argv.begin() + 1, s.process.argv.end()), view, workdir);
    for (const auto& n : am.notes) s.notes.push_back(n);
    for (const auto& m : am.mounts) {
        s.layout.binds.push_back({m, m, ro});
        s.notes.push_back("auto-mount " + m + (ro ? " (ro)" : ""));
    }
    // A link is made only in the container's own space (its home, its fresh directories, the
    // root tmpfs): never through a bind onto the host, in a system directory, or in the tree.
    auto own_space = [&](const std::string& p) {
        if (p == "/" || in_kernel_dir(p) || tree_owned(p, s, h)) return false;
        for (const auto& d : s.layout.system)
            if (path_within(p, d.path)) return false;
        for (const auto& b : s.layout.binds)
            if (path_within(p, b.dst) || path_within(b.dst, p)) return false;
        return true;
    };
    for (const auto& l : am.links) {
        if (!own_space(l.path)) continue;
        s.layout.links.push_back(l);
        s.notes.push_back("auto-mount link " + l.path + " -> " + l.target);
    }
}

// A directory in a fresh one that only exists inside because a mount point below it was made
// (`cd /tmp/x && kakuri cc a.c`: /tmp/x/a.c is mounted alone): the caller's cwd still works there.
// What a temporary container's writes vanish with, for the note init gives after the command
// (README, "What is discarded"): its own home, a working directory in a fresh directory, and each
// path an argument named that was not mounted (an output in /tmp, an edited /etc/hosts).
void watch_discards(ContainerSpec& s, const HostInfo& h) {
    const Layout& l = s.layout;
    DiscardWatch& w = s.process.discard;
    auto mounted = [&](const std::string& p) {
        for (const auto& b : l.binds)
            if (path_within(p, b.dst)) return true;
        return false;
    };
    auto in_fresh = [&](const std::string& p) {
        for (const auto& f : fresh_dirs(!l.rootfs.empty()))
            if (path_within(p, f.path)) return true;
        return false;
    };
    const bool own_home = !l.home.empty() && !mounted(l.home);
    const std::string& cwd = s.process.cwd;
    if (own_home) w.dirs.push_back(l.home);
    if (!(own_home && path_within(cwd, l.home)) && in_fresh(cwd) && !mounted(cwd))
        w.dirs.push_back(cwd);
    const std::vector<std::string>& argv = s.process.argv;
    if (argv.size() < 2 || s.process.rules.auto_mount == "off") return;
    const HostView view = container_view(s, h);
    for (const auto& p :
         detect_paths(std::vector<std::string>(argv.begin() + 1, argv.end()), view)) {
        if (mounted(p) || (own_home && path_within(p, l.home)) || in_kernel_dir(p) ||
            !view.refused(h.resolve(p)).empty())
            continue;
        w.paths.push_back(p);
    }
}

bool made_for_a_mount(const std::string& d, const Layout& layout) {
    bool fresh = false;
    for (const auto& f : fresh_dirs(!layout.rootfs.empty()))
        fresh = fresh || path_within(d, f.path);
    if (!fresh) return false;
    bool below = false;
    for (const auto& b : layout.binds) {
        if (path_within(d, b.dst)) return false;
        below = below || path_within(b.dst, d);
    }
    for (const auto& l : layout.links) below = below || (l.path != d && path_within(l.path, d));
    return below;
}

}  // namespace

std::vector<HiddenPath> own_state(const std::string& config_path, const Config& cfg,
                                  const HostInfo& h) {
    std::vector<HiddenPath> out;
    auto add = [&](const std::string& p, bool dir, mode_t mode, const char* what,
                   bool make = true) {
        if (p.empty() || p[0] != '/') return;
        std::string r = h.resolve(normalize_path(p));
        if (r == "/") return;
        for (const auto& o : out)
            if (o.path == r) return;
        out.push_back({r, dir, mode, what, make});
    };
    // Private, as Store::create makes it; the config directories readable, as /etc's are.
    add(expand_tilde(cfg.containers_dir.value, h.home), true, 0700, "containers_dir");
    // config_paths counts an empty variable as unset.
    const std::string kakuri_config = env_value(h.environ, "KAKURI_CONFIG").value_or("");
    const std::string xdg = env_value(h.environ, "XDG_CONFIG_HOME").value_or("");
    const char* kakuri_config_env = kakuri_config.c_str();
    const char* xdg_env = xdg.c_str();
    // The directories of the files this run reads and of the default ones, which a later run
    // reads: a file alone could be sidestepped by renaming the directory it lies in.
    add(parent_path(config_paths(config_path, kakuri_config_env, xdg_env, h.home).system), true,
        0755, "config directory", false);
    for (const char* x : {xdg_env, static_cast<const char*>(nullptr)}) {
        std::string user = config_paths("", nullptr, x, h.home).user;
        if (!user.empty()) add(parent_path(user), true, 0755, "config directory");
    }
    // A file named by --config or $KAKURI_CONFIG lies among the user's own files: only it. A
    // pipe (`--config <(...)`) is nothing to hide.
    for (const std::string& named : {config_path, kakuri_config}) {
        if (named.empty()) continue;
        std::string abs = named[0] == '/' ? named : h.cwd + "/" + named;
        std::string r = h.resolve(normalize_path(abs));
        if (!in_kernel_dir(r) && h.kind(r) == PathKind::File) add(r, false, 0, "config file");
    }
    // Images are shared by every container made from them (README, "Images"): none may write one.
    add(expand_tilde(cfg.images_dir.value, h.home), true, 0700, "images_dir");
    // Change sets (README, "Copy-on-write views"): what apply writes to the host; only kakuri
    // may put one there.
    add(expand_tilde(cfg.changes_dir.value, h.home), true, 0700, "changes_dir");
    // The binary this run is, where a bind could show it (a build tree, ~/.local/bin, the
    // working directory mounted read-write): replaced from inside, the next run would be the
    // program's. Under /usr the container sees it through an overlay or read-only.
    if (!h.binary.empty() && !path_within(h.resolve(h.binary), "/usr"))
        add(h.binary, false, 0, "kakuri binary", false);
    return out;
}

Config effective_config(const Options& o, Config cfg) {
    static const char* const kModes[] = {"none", "host", "private"};
    if (!o.publish.empty() && o.network_set && o.network != NetworkMode::Private)
        throw Error(std::string("--publish needs a private network, not --network=") +
                    kModes[static_cast<int>(o.network)] + " (it implies --network=private)");
    if (o.network_set || !o.publish.empty()) {
        NetworkMode mode = o.network_set ? o.network : NetworkMode::Private;
        override_with(cfg.network, std::string(kModes[static_cast<int>(mode)]));
        override_with(cfg.allow_network, mode == NetworkMode::Host);
        if (mode == NetworkMode::Private && o.network_set)
            override_with(cfg.host_loopback, o.host_loopback);
    } else if (cfg.allow_network.set && !cfg.network.set) {
        // What `kakuri config` shows as network is what a file's allow_network said.
        cfg.network.value = cfg.allow_network.value ? "host" : "none";
        cfg.network.origin = cfg.allow_network.origin;
    }
    if (!o.dns.empty()) override_with(cfg.dns, o.dns);
    if (o.user) override_with(cfg.user, true);
    if (!o.hostname.empty()) override_with(cfg.hostname, o.hostname);
    if (o.subids) override_with(cfg.subids, true);
    if (!o.auto_mount.empty()) override_with(cfg.auto_mount, o.auto_mount);
    if (o.seccomp_set) override_with(cfg.seccomp, std::string(o.seccomp ? "default" : "off"));
    // cli checked the value; a bad one here (a test's Options) is still one line.
    auto size = [](const std::string& option, const std::string& text) {
        uint64_t n = 0;
        if (!parse_limit_size(text, n))
            throw Error(option + " takes " + kSizeForm + ", not " + shown(text));
        return n;
    };
    if (!o.tmpfs_size.empty()) override_with(cfg.tmpfs_size, size("--tmpfs-size", o.tmpfs_size));
    if (!o.memory.empty()) override_with(cfg.memory, size("--memory", o.memory));
    uint64_t n = 0;
    if (!o.pids_limit.empty()) {
        if (!parse_pids(o.pids_limit, n))
            throw Error("--pids-limit takes " + std::string(kPidsForm) + ", not " +
                        shown(o.pids_limit));
        override_with(cfg.pids_limit, n);
    }
    if (!o.cpus.empty()) {
        if (!parse_cpus(o.cpus, n))
            throw Error("--cpus takes " + std::string(kCpusForm) + ", not " + shown(o.cpus));
        override_with(cfg.cpus, n);
    }
    return cfg;
}

std::string format_config(const Config& c, bool filter_built) {
    std::string out;
    auto line = [&](const std::string& key, const std::string& value, const Origin& o) {
        std::string l = key + " = " + value;
        if (l.size() < 40) l.resize(40, ' ');
        out += l + "  # " + where(o) + "\n";
    };
    auto b = [](bool v) { return std::string(v ? "true" : "false"); };
    out += "[storage]\n";
    line("containers_dir", config_string(c.containers_dir.value), c.containers_dir.origin);
    line("images_dir", config_string(c.images_dir.value), c.images_dir.origin);
    line("changes_dir", config_string(c.changes_dir.value), c.changes_dir.origin);
    line("log_max_size", config_string(format_size(c.log_max_size.value)), c.log_max_size.origin);
    out += "\n[defaults]\n";
    line("network", config_string(c.network.value), c.network.origin);
    line("host_loopback", b(c.host_loopback.value), c.host_loopback.origin);
    line("dns", config_string(c.dns.value), c.dns.origin);
    line("user", b(c.user.value), c.user.origin);
    line("hostname", config_string(c.hostname.value.empty() ? "kakuri" : c.hostname.value),
         c.hostname.origin);
    line("auto_mount", config_string(c.auto_mount.value), c.auto_mount.origin);
    line("auto_mount_workdir", b(c.auto_mount_workdir.value), c.auto_mount_workdir.origin);
    line("note_discarded", b(c.note_discarded.value), c.note_discarded.origin);
    line("seccomp", config_string(c.seccomp.value), c.seccomp.origin);
    if (!filter_built && c.seccomp.value != "off")
        out += std::string("# ") + kNoFilterNote + ": none is loaded\n";
    line("subids", b(c.subids.value), c.subids.origin);
    line("bind", list(c.bind.value), c.bind.origin);
    line("bind_profiles", list(c.bind_profiles.value), c.bind_profiles.origin);
    // A credential's value is never printed, not even one the config file sets.
    std::vector<std::string> env = c.env.value;
    for (auto& kv : env)
        if (looks_like_credential(env_key(kv), env_filter(c))) kv = env_key(kv) + "=<hidden>";
    line("env", list(env), c.env.origin);
    // The built-in rule, wrapped as comment lines: what env_drop adds to.
    out += "# env_drop adds to the built-in credential rule:\n";
    std::string rule = "#  ";
    for (const auto& p : credential_rule()) {
        if (rule.size() + 1 + p.size() > 72) {
            out += rule + "\n";
            rule = "#  ";
        }
        rule += " " + p;
    }
    out += rule + "\n";
    line("env_drop", list(c.env_drop.value), c.env_drop.origin);
    line("env_keep", list(c.env_keep.value), c.env_keep.origin);
    auto size = [](uint64_t n) { return config_string(n ? format_limit_size(n) : ""); };
    line("tmpfs_size", size(c.tmpfs_size.value), c.tmpfs_size.origin);
    line("memory", size(c.memory.value), c.memory.origin);
    line("pids_limit",
         config_string(c.pids_limit.value ? std::to_string(c.pids_limit.value) : std::string()),
         c.pids_limit.origin);
    line("cpus", config_string(c.cpus.value ? format_cpus(c.cpus.value) : std::string()),
         c.cpus.origin);
    out += "\n[bind_profiles]\n";
    for (const auto& [name, p] : c.profiles) line(name, list(p.entries), p.origin);
    return out;
}

EnvFilter env_filter(const Config& cfg) {
    return {cfg.env_drop.value, cfg.env_keep.value};
}

ContainerSpec make_spec(const Options& o, const HostInfo& h) {
    return make_spec(o, default_config(), h);
}

namespace {

// The root: --rootfs's tree, or the host's system directories in their order.
void set_root(ContainerSpec& s, const Options& opts, const Config& cfg, const HostInfo& h,
              const ImageUse* image) {
    if (image) {
        if (!opts.rootfs.empty()) throw Error("--image and --rootfs: a container has one root");
        // The image's tree lies in images_dir, which stays hidden: below the root's overlay
        // it is the read-only layer, never reachable as a path (README, "Images").
        s.layout.rootfs = image->rootfs;
        s.layout.image = image->name;
        s.process.rules.image_env = image->env;
        s.process.rules.image_command = image->command;
        s.process.rules.image_workdir = image->workdir;
        if (!h.real_root && !cfg.subids.value)
            s.notes.push_back(
                "only your own id is mapped: setgroups, chown to another id and "
                "apt fail inside; --subids maps a range (kakuri(1), TROUBLESHOOTING)");
    } else if (!opts.rootfs.empty()) {
        // The tree replaces the host's system directories: none of them is set up.
        std::string r = expand_tilde(opts.rootfs, h.home);
        if (r[0] != '/') r = h.cwd + "/" + r;
        r = normalize_path(r);
        std::string named = "--rootfs " + opts.rootfs + (opts.rootfs == r ? "" : " (" + r + ")");
        PathKind k = h.kind(r);
        if (k == PathKind::Missing) throw Error(named + ": no such directory");
        if (k != PathKind::Directory) throw Error(named + ": not a directory");
        s.layout.rootfs = h.resolve(r);
        refuse_own_state(s.layout.rootfs, named, s);
        // apt's "Failed to setgroups", chown's EINVAL: the tree's other users have no id here.
        if (!h.real_root && !cfg.subids.value)
            s.notes.push_back(
                "only your own id is mapped: setgroups, chown to another id and "
                "apt fail inside; --subids maps a range (kakuri(1), TROUBLESHOOTING)");
    } else {
        std::vector<HostInfo::RootEntry> entries = h.root_entries;
        std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            int ra = system_rank(a.name), rb = system_rank(b.name);
            return ra != rb ? ra < rb : a.name < b.name;
        });
        // In a user namespace an overlay over /usr could only add entries at its
        // very top (the kernel will not copy up host root's files), yet every
        // container would pay for a fresh overlay: 1.6x slower metadata-heavy
        // work measured (bench/RESULTS.md). A read-only bind serves as well.
        for (const auto& e : entries)
            s.layout.system.push_back({"/" + e.name, e.is_symlink, e.link_target,
                                       s.identity.userns && !e.is_symlink && e.name == "usr"});
    }
}

// --network=private: what pasta is to forward, each host port taken once (two forwards of one
// port would have pasta bind it twice, and the second fail).
void set_private_net(ContainerSpec& s, const Options& opts, const Config& cfg, const HostInfo& h) {
    PrivateNet& net = s.policy.net;
    net.on = cfg.network.value == "private";
    if (!net.on) {
        if (!opts.dns.empty())
            throw Error("--dns is for a private network (--network=private), not --network=" +
                        cfg.network.value);
        return;
    }
    net.host_loopback = cfg.host_loopback.value;
    net.dns = cfg.dns.value;
    choose_dns_forwards(net, h.read_text);
    for (const auto& text : opts.publish) {
        Publish p = parse_publish(text);
        for (const auto& other : net.publish)
            if (publish_overlap(p, other))
                throw Error("--publish " + text + ": host port taken twice (also in " +
                            format_publish(other) + ")");
        net.publish.push_back(p);
    }
}

}  // namespace

ContainerSpec make_container(const Options& opts, const Config& file_cfg, const HostInfo& h,
                             const ImageUse* image) {
    const Config cfg = effective_config(opts, file_cfg);
    ContainerSpec s;
    const bool user = cfg.user.value;
    // Only a temporary container's writes vanish; set_process says where to look.
    s.process.discard.on = opts.verbosity >= 0 && cfg.note_discarded.value;
    s.process.discard.verbose = opts.verbosity > 0;

    set_identity(s, opts, cfg, h);
    s.layout.hidden = own_state(opts.config, cfg, h);
    s.policy.share_net = cfg.network.value == "host";
    set_private_net(s, opts, cfg, h);
    const std::string& hostname = cfg.hostname.value;
    if (!hostname.empty()) {
        if (!valid_hostname(hostname)) {
            // From a file: where, not what (a config's values are never quoted).
            const bool from_file = cfg.hostname.origin.line != 0;
            throw Error((from_file ? where(cfg.hostname.origin) + ": bad hostname"
                                   : "bad hostname " + shown(hostname)) +
                        ": use letters, digits and '-' in labels of 1 to 63 characters "
                        "separated by '.', no label starting or ending with '-', at most 64 "
                        "characters in all");
        }
        s.policy.hostname = hostname;
    }

    set_root(s, opts, cfg, h, image);
    if (!h.home.empty() && h.home[0] == '/' && normalize_path(h.home) != "/")
        s.layout.home = normalize_path(h.home);

    // Binds: explicit (config, then command line), then profiles, then automatic.
    for (size_t i = 0; i < cfg.bind.value.size(); ++i) {
        // A config's values are never quoted in an error (see config.cpp): the entry's place.
        const std::string named = where(cfg.bind.origin) + ": bind entry " + std::to_string(i + 1);
        add_bind(s, parse_bind_spec(cfg.bind.value[i], false, h.home, h.cwd, named), named, h);
    }
    for (size_t i = 0; i < opts.binds.size(); ++i)
        add_bind(s, parse_bind_spec(opts.binds[i], opts.binds_ro_forced[i], h.home, h.cwd),
                 (opts.binds_ro_forced[i] ? "--ro-bind " : "--bind ") + opts.binds[i], h);
    for (const auto& text : opts.overlays) {
        const std::string named = "--overlay " + text;
        const BindText t = split_bind(text);
        if (!t.mode.empty())
            throw Error(named + ": expected SRC[:DST] (an overlay is writable, its writes kept)");
        add_bind(s, parse_bind_spec(text + ":overlay", false, h.home, h.cwd, named), named, h);
    }
    for (const auto& name : cfg.bind_profiles.value)
        add_profile(s, cfg, name, cfg.bind_profiles.origin, h);
    for (const auto& name : opts.bind_profiles) add_profile(s, cfg, name, kCommandLine, h);

    s.policy.seccomp = cfg.seccomp.value != "off";
    s.policy.limits.memory = cfg.memory.value;
    s.policy.limits.pids = cfg.pids_limit.value;
    s.policy.limits.cpu_millis = cfg.cpus.value;
    // In-memory writes are memory too: by default they may take what --memory allows.
    s.policy.limits.tmpfs_size = cfg.tmpfs_size.value ? cfg.tmpfs_size.value : cfg.memory.value;
    // --user means no capabilities at all; otherwise root keeps a docker-like set.
    s.policy.caps = user ? 0 : default_caps();
    for (const auto& c : opts.cap_add) s.policy.caps |= parse_cap(c);
    for (const auto& c : opts.cap_drop) s.policy.caps &= ~parse_cap(c);
    if (user && !opts.cap_add.empty())
        throw Error("--cap-add does not go with --user: a non-root user keeps no capabilities");
    s.identity.user = user;
    s.identity.caller_uid = h.uid;
    s.identity.caller_gid = h.gid;

    s.process.rules.auto_mount = cfg.auto_mount.value;
    s.process.rules.auto_mount_workdir = cfg.auto_mount_workdir.value;
    s.process.rules.clearenv = opts.clearenv;
    for (const auto& k : opts.env_unset) check_env_key(k, "--unsetenv");
    s.process.rules.env_unset = opts.env_unset;
    s.process.rules.env = cfg.env.value;
    for (const auto& kv : opts.env_set) check_env_key(kv.substr(0, kv.find('=')), "--env");
    s.process.rules.env_set = opts.env_set;
    s.process.rules.env_drop = cfg.env_drop.value;
    s.process.rules.env_keep = cfg.env_keep.value;
    return s;
}

ContainerSpec make_spec(const Options& opts, const Config& cfg, const HostInfo& h,
                        const ImageUse* image) {
    ContainerSpec s = make_container(opts, cfg, h, image);
    set_process(s, {opts.command, opts.workdir, {}, false}, h);
    return s;
}

namespace {

// The command, or the caller's shell (in a root filesystem: where the tree has it, else its sh).
std::vector<std::string> command_of(const ContainerSpec& s, const ProcessRequest& req,
                                    const HostInfo& h) {
    if (!req.command.empty()) return req.command;
    // An image's own command, as `podman run IMAGE` runs it.
    if (!s.process.rules.image_command.empty()) return s.process.rules.image_command;
    std::string shell = h.shell.empty() ? "/bin/sh" : h.shell;
    if (!s.layout.rootfs.empty()) {
        // The caller's shell where the tree has it (at the same path), else the tree's /bin/sh.
        if (shell[0] != '/' || h.kind_in_root(s.layout.rootfs, shell) != PathKind::File)
            shell = "/bin/sh";
        if (h.kind_in_root(s.layout.rootfs, shell) != PathKind::File)
            throw Error("--rootfs " + s.layout.rootfs +
                        ": it has no /bin/sh to run; name the command to run");
    }
    return {shell};
}

// Environment: the caller's (unless --clearenv) without the variables that carry credentials
// (envrules: the built-in rule, env_drop, env_keep), the markers, minus --unsetenv, plus the
// config's env, plus -e, which passes one on purpose.
void set_environment(ContainerSpec& s, const ProcessRequest& req, const HostInfo& h) {
    const ProcessRules& rules = s.process.rules;
    std::vector<std::string>& env = s.process.env;
    const EnvFilter filter{rules.env_drop, rules.env_keep};
    std::vector<std::string> dropped;
    if (!rules.clearenv) {
        for (const auto& e : h.environ) {
            std::string key = env_key(e);
            if (!env_dropped(key, filter)) {
                env.emplace_back(e);
            } else if (std::find(dropped.begin(), dropped.end(), key) == dropped.end()) {
                dropped.push_back(key);
            }
        }
    }
    // Where the program runs, as the ecosystem expects (README, "The environment"): systemd's
    // container interface, and the user names of the identity inside (root, unless --user).
    env_put(env, "container=kakuri");
    if (!s.identity.user) {
        env_put(env, "USER=root");
        env_put(env, "LOGNAME=root");
    }
    // The image's Env over the caller's (its PATH fits its tree), under what the user sets.
    for (const auto& kv : rules.image_env) env_put(env, kv);
    for (const auto& k : rules.env_unset) env_remove(env, k);
    for (const auto& kv : rules.env) env_put(env, kv);
    std::vector<std::string> env_set = rules.env_set;
    env_set.insert(env_set.end(), req.env_set.begin(), req.env_set.end());
    for (const auto& kv : env_set) {
        size_t eq = kv.find('=');
        std::string key = kv.substr(0, eq);
        check_env_key(key, "--env");
        if (eq != std::string::npos) {
            env_put(env, kv);
        } else {
            auto it = std::find_if(h.environ.begin(), h.environ.end(),
                                   [&](std::string_view e) { return env_key(e) == key; });
            if (it != h.environ.end()) env_put(env, std::string(*it));
        }
    }
    // -v names what stayed outside; a value is never printed.
    std::string out;
    for (const auto& k : dropped)
        if (!env_has(env, k)) out += (out.empty() ? "" : ", ") + k;
    if (!out.empty())
        s.notes.push_back("environment: kept outside: " + out +
                          " (credentials; pass one with -e NAME)");
    if (!env_has(env, "PATH")) env.push_back(std::string("PATH=") + kDefaultPath);
    if (!env_has(env, "HOME") && !h.home.empty()) env.push_back("HOME=" + h.home);
}

// The program the caller's shell would run (README, "Automatic path mounting and PATH
// resolution"), bound in read-only when the container cannot see it. Not into a root
// filesystem: a host binary there would not find its libraries, and the command is the tree's,
// found on PATH inside it.
void resolve_program(ContainerSpec& s, const HostInfo& h) {
    if (!s.layout.rootfs.empty()) return;
    std::string& name = s.process.argv[0];
    CommandResolution r = resolve_command(name, env_value(s.process.env, "PATH").value_or(""),
                                          env_value(h.environ, "PATH").value_or(""),
                                          container_view(s, h), h.executable);
    if (r.kind == CommandResolution::FromHost) {
        s.layout.binds.push_back({h.resolve(r.bind), r.bind, true});
        s.notes.push_back("command " + name + " from the host: " + r.path +
                          (r.bind == r.path ? "" : " (with " + r.bind + ")"));
    }
    if (r.kind != CommandResolution::NotFound && !r.path.empty()) name = r.path;
}

// Where the command starts: -w; else the caller's directory where the container shows it; else
// the home (or /).
void set_working_directory(ContainerSpec& s, const ProcessRequest& req, const HostInfo& h) {
    std::string& cwd = s.process.cwd;
    if (!req.workdir.empty()) {
        std::string w = expand_tilde(req.workdir, h.home);
        if (w[0] != '/')
            throw Error("--workdir must be an absolute path, not '" + req.workdir + "'");
        cwd = normalize_path(w);
    } else if (req.command.empty() && !req.home_by_default &&
               !s.process.rules.image_workdir.empty() && s.process.rules.image_workdir[0] == '/') {
        // The image's command (or a shell) starts where the image says.
        cwd = normalize_path(s.process.rules.image_workdir);
    } else if (!req.home_by_default && !h.cwd.empty() &&
               (visible_inside(h.cwd, s.layout) || made_for_a_mount(h.cwd, s.layout))) {
        cwd = h.cwd;
    } else {
        cwd = s.layout.home.empty() ? "/" : s.layout.home;
    }
    // A directory kakuri chose may be one root inside cannot enter (as real root with --userns, a
    // tree's /root is host root's, mode 0700): the command then starts in /, as a login would.
    if (req.workdir.empty() && cwd != "/") s.process.cwd_fallback = "/";
    env_put(s.process.env, "PWD=" + cwd);
}

}  // namespace

void set_process(ContainerSpec& s, const ProcessRequest& req, const HostInfo& h) {
    const ProcessRules& rules = s.process.rules;
    s.process.argv = command_of(s, req, h);
    // The working directory counts as named (README, "Automatic path mounting"): not for exec,
    // which starts in the home, nor when -w names where to start.
    // An image's own command is the image author's words, not the caller's: nothing of the
    // host is mounted for it, not even the working directory (README, "Images").
    const bool own_words = !req.command.empty() || rules.image_command.empty();
    const std::string& am = rules.auto_mount;
    const std::string workdir =
        rules.auto_mount_workdir && !req.home_by_default && req.workdir.empty() ? h.cwd : "";
    if (own_words && am != "off" && (s.process.argv.size() > 1 || !workdir.empty()))
        add_auto_mounts(s, am == "ro", h, workdir);
    set_environment(s, req, h);
    resolve_program(s, h);
    set_working_directory(s, req, h);
    if (s.process.discard.on && s.layout.persist_dir.empty()) watch_discards(s, h);
}

Identity layer_identity(const Config& cfg, const HostInfo& h, bool subids) {
    ContainerSpec s;
    Config c = cfg;
    c.user.value = false;
    c.subids.value = subids;
    c.subids.origin = kCommandLine;
    set_identity(s, Options{}, c, h);
    return s.identity;
}

}  // namespace kakuri
