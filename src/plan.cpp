// plan: the pure part of setting up a container; every mount decision lives here.
#include "plan.hpp"

#include <sched.h>

#include <algorithm>
#include <sstream>

#include "capnames.hpp"
#include "paths.hpp"

#ifndef KAKURI_VERSION
#define KAKURI_VERSION "0.0.0"
#endif

namespace kakuri {

namespace {

void add(Plan& p, StepKind k, std::string target, std::string source = "", mode_t mode = 0,
         bool ro = false) {
    p.steps.push_back({k, std::move(target), std::move(source), mode, ro});
}

// The empty home: a directory of the root tmpfs (or of /tmp, where tests and
// throw-away accounts keep it), or a tmpfs where the home lies inside a system
// directory (a daemon account's /var/lib/...), which cannot be created there.
void add_home(Plan& p, const Layout& layout) {
    if (layout.home.empty()) return;
    for (const auto& d : layout.system) {
        if (!d.is_symlink && path_within(layout.home, d.path)) {
            add(p, StepKind::Tmpfs, layout.home, "", 0700);
            return;
        }
    }
    std::vector<std::string> chain;
    for (std::string d = layout.home; d != "/" && d != kHomesDir; d = parent_path(d))
        chain.push_back(d);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
        add(p, StepKind::Mkdir, *it, "", std::next(it) == chain.rend() ? 0700 : 0755);
}

// In a root filesystem the home is made where missing, inside the tree's upper
// layer: kept by a persistent container, gone with a temporary one.
void add_rootfs_home(Plan& p, const Layout& layout) {
    if (layout.home.empty()) return;
    std::vector<std::string> chain;
    for (std::string d = layout.home; d != "/"; d = parent_path(d)) chain.push_back(d);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
        add(p, StepKind::Mkdir, *it, "", std::next(it) == chain.rend() ? 0700 : 0755);
}

void add_dev(Plan& p, bool rootfs) {
    add(p, StepKind::Tmpfs, "/dev", "", 0755);
    for (const char* n : {"null", "zero", "full", "random", "urandom", "tty"})
        add(p, StepKind::DevNode, std::string("/dev/") + n, std::string("/dev/") + n);
    add(p, StepKind::Symlink, "/dev/fd", "/proc/self/fd");
    add(p, StepKind::Symlink, "/dev/stdin", "/proc/self/fd/0");
    add(p, StepKind::Symlink, "/dev/stdout", "/proc/self/fd/1");
    add(p, StepKind::Symlink, "/dev/stderr", "/proc/self/fd/2");
    add(p, StepKind::Symlink, "/dev/core", "/proc/kcore");
    add(p, StepKind::Mkdir, "/dev/pts", "", 0755);
    add(p, StepKind::Devpts, "/dev/pts");
    add(p, StepKind::Symlink, "/dev/ptmx", "pts/ptmx");
    for (const auto& f : fresh_dirs(rootfs)) {
        if (!path_within(f.path, "/dev")) continue;
        add(p, StepKind::Mkdir, f.path, "", f.mode);
        add(p, StepKind::Tmpfs, f.path, "", f.mode);
    }
}

// The fresh directories outside /dev (those in it come with it).
// A value in /run/.containerenv, quoted as podman writes them.
std::string env_quoted(const std::string& v) {
    std::string out = "\"";
    for (char c : v) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
    return out + "\"";
}

// What tells a program where it runs, as the ecosystem expects: /run/host/container-manager
// (systemd's container interface), /run/.containerenv (podman's and toolbox's convention) and
// the container's hostname in /etc/hostname and /etc/hosts, in files of
// its own over the root's (the host's and the tree's files stay untouched). A user's bind over
// one of them comes later and wins.
void add_markers(Plan& p, const ContainerSpec& s) {
    Step env{StepKind::File, "/run/.containerenv", "", 0444};
    const Layout& l = s.layout;
    env.text = "engine=" + env_quoted(std::string("kakuri-") + KAKURI_VERSION) + "\n" +
               "name=" + env_quoted(l.persist_dir.empty() ? "" : base_name(l.persist_dir)) + "\n" +
               "image=" + env_quoted(l.rootfs) + "\n" +
               "rootless=" + (s.identity.userns ? "1" : "0") + "\n";
    p.steps.push_back(env);
    Step manager{StepKind::File, "/run/host/container-manager", "", 0444};
    manager.text = "kakuri\n";
    p.steps.push_back(manager);
    Step name{StepKind::FileOver, "/etc/hostname", "", 0644};
    name.text = s.policy.hostname + "\n";
    p.steps.push_back(name);
    Step hosts{StepKind::FileOver, "/etc/hosts", "", 0644};
    hosts.text = "127.0.1.1\t" + s.policy.hostname + "\n";
    hosts.append = true;
    p.steps.push_back(hosts);
    if (s.policy.net.on) {
        // Where pasta answers, whatever the host's resolv.conf names (a stub on 127.0.0.53 is
        // the host's loopback, which the container does not reach).
        Step dns{StepKind::FileOver, "/etc/resolv.conf", "", 0644};
        if (s.policy.net.dns4) dns.text += std::string("nameserver ") + kDnsForward + "\n";
        if (s.policy.net.dns6) dns.text += std::string("nameserver ") + kDnsForward6 + "\n";
        p.steps.push_back(dns);
    }
}

void add_fresh(Plan& p, bool rootfs) {
    for (const auto& f : fresh_dirs(rootfs))
        if (!path_within(f.path, "/dev")) add(p, StepKind::Tmpfs, f.path, "", f.mode);
}

// kakuri's own state, wherever the container would see it. Through a bind SRC:DST that covers
// it at SRC/rel it shows at DST/rel: an empty read-only mount goes there, and every directory
// between DST and it is pinned (bound onto itself), since a program could otherwise rename one
// of them on the host and put a forged record or config where kakuri looks. Through a system
// directory or a root filesystem it shows in an overlay, whose changes never reach the host:
// only the mask. A place a later bind covers shows that bind instead.
void add_hidden(Plan& p, const Layout& layout) {
    std::vector<Step> pins;
    std::vector<Step> masks;
    auto hidden_by_later = [&](const std::string& place, size_t after) {
        for (size_t i = after; i < layout.binds.size(); ++i)
            if (path_within(place, layout.binds[i].dst)) return true;
        return false;
    };
    auto mask = [&](const HiddenPath& h, const std::string& place, bool own) {
        Step m{h.dir ? StepKind::MaskDir : StepKind::MaskFile, place, h.dir ? "" : "/dev/null",
               h.mode, true};
        m.own_state = own;
        m.make = own && h.dir && h.make;
        if (std::find(masks.begin(), masks.end(), m) == masks.end()) masks.push_back(m);
    };
    auto rel_of = [](const std::string& path, const std::string& dir) {
        return dir == "/" ? path : path.substr(dir.size());
    };
    for (const auto& h : layout.hidden) {
        if (!layout.rootfs.empty()) {
            if (path_within(h.path, layout.rootfs)) {
                std::string place = normalize_path("/" + rel_of(h.path, layout.rootfs));
                if (!hidden_by_later(place, 0)) mask(h, place, false);
            }
        } else {
            bool shown = false;
            for (const auto& d : layout.system)
                shown = shown || (!d.is_symlink && path_within(h.path, d.path));
            for (const auto& f : fresh_dirs(false)) shown = shown && !path_within(h.path, f.path);
            if (!layout.home.empty() && path_within(h.path, layout.home)) shown = false;
            if (shown && !hidden_by_later(h.path, 0)) mask(h, h.path, false);
        }
        for (size_t i = 0; i < layout.binds.size(); ++i) {
            const Bind& b = layout.binds[i];
            if (!path_within(h.path, b.src) || h.path == b.src) continue;
            std::string place = normalize_path(b.dst + rel_of(h.path, b.src));
            if (hidden_by_later(place, i + 1)) continue;
            // Through an overlay, as through a system directory, nothing inside reaches the
            // host's copy (`kakuri apply` refuses kakuri's own state): the mask, no pins.
            if (b.overlay) {
                mask(h, place, false);
                continue;
            }
            for (std::string d = parent_path(place); d != b.dst && path_within(d, b.dst);
                 d = parent_path(d)) {
                auto pin = std::find_if(pins.begin(), pins.end(),
                                        [&](const Step& q) { return q.target == d; });
                if (pin == pins.end()) {
                    pins.push_back({StepKind::Pin, d, "", h.mode ? h.mode : mode_t(0755)});
                    pins.back().own_state = true;
                    pin = pins.end() - 1;
                }
                pin->make = pin->make || h.make;
            }
            mask(h, place, true);
        }
    }
    // Outer directories first: a pin clones what is below it, masks go on top of everything.
    std::stable_sort(pins.begin(), pins.end(), [](const Step& a, const Step& b) {
        return std::count(a.target.begin(), a.target.end(), '/') <
               std::count(b.target.begin(), b.target.end(), '/');
    });
    p.steps.insert(p.steps.end(), pins.begin(), pins.end());
    p.steps.insert(p.steps.end(), masks.begin(), masks.end());
}

const char* kind_name(StepKind k) {
    switch (k) {
    case StepKind::RootTmpfs: return "root-tmpfs";
    case StepKind::RootOverlay: return "root-overlay";
    case StepKind::Overlay: return "overlay";
    case StepKind::Symlink: return "symlink";
    case StepKind::Mkdir: return "mkdir";
    case StepKind::Tmpfs: return "tmpfs";
    case StepKind::DevNode: return "dev-node";
    case StepKind::Devpts: return "devpts";
    case StepKind::Proc: return "proc";
    case StepKind::Sysfs: return "sysfs";
    case StepKind::CgroupFs: return "cgroupfs";
    case StepKind::Bind: return "bind";
    case StepKind::PivotRoot: return "pivot-root";
    case StepKind::MaskFile: return "mask";
    case StepKind::MaskDir: return "mask-dir";
    case StepKind::Pin: return "pin";
    case StepKind::ReadOnly: return "read-only";
    case StepKind::File: return "file";
    case StepKind::FileOver: return "file-over";
    }
    return "?";
}

std::string octal(mode_t m) {
    std::ostringstream s;
    s << "0" << std::oct << m;
    return s.str();
}

std::string format_map(const std::vector<IdMapLine>& m) {
    std::string out;
    for (const auto& l : m) {
        if (!out.empty()) out += ", ";
        out += std::to_string(l.inside) + "->" + std::to_string(l.outside) + " (" +
               std::to_string(l.count) + ")";
    }
    return out;
}

// A word of the command as a shell would take it back (--dry-run prints a command line, not a
// config: config_string is the config's quoting).
std::string shell_word(const std::string& w) {
    if (!w.empty() && w.find_first_of(" \t\n'\"\\$`") == std::string::npos) return w;
    std::string out = "'";
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string network_text(const Policy& p) {
    if (p.share_net) return "host";
    if (!p.net.on) return "private (lo only)";
    std::string t = std::string("private (pasta") +
                    (p.net.host_loopback ? ", the host's loopback at the gateway's address" : "") +
                    ", DNS to " + (p.net.dns.empty() ? "the host's" : p.net.dns) + ")";
    for (const auto& pub : p.net.publish) t += " " + format_publish(pub);
    return t;
}

// Why kakuri waits for the container to be gone before it returns (Plan::await_teardown);
// empty: it need not.
std::string teardown_reasons(const Plan& p) {
    std::vector<std::string> why;
    if (p.policy.net.on) why.push_back("pasta ended, its ports free");
    if (p.policy.limits.cgroup()) why.push_back("the cgroup removed");
    if (std::any_of(p.steps.begin(), p.steps.end(), [](const Step& s) { return !s.upper.empty(); }))
        why.push_back("no process left to write an upper layer on disk");
    std::string text;
    for (const auto& w : why) text += (text.empty() ? "" : ", ") + w;
    return text;
}

}  // namespace

std::vector<std::string> pasta_arguments(const PrivateNet& net, const std::string& netns,
                                         const std::string& pid_file) {
    std::vector<std::string> a = {"--config-net", "--quiet",      "--foreground",
                                  "--pid",        pid_file,       "--netns",
                                  netns,          "--netns-only", "--no-netns-quit"};
    bool tcp = false, udp = false;
    for (const auto& pub : net.publish)
        for (unsigned i = 0; i < pub.count; ++i) {
            (pub.udp ? udp : tcp) = true;
            a.push_back(pub.udp ? "-u" : "-t");
            a.push_back(pub.host_ip + "/" + std::to_string(pub.host_port + i) + ":" +
                        std::to_string(pub.port + i));
        }
    // pasta's default for each is "auto": every port bound inside (-t, -u) or on the host (-T,
    // -U) forwarded to the other side, which would hand the container the host's loopback.
    if (!tcp) a.insert(a.end(), {"-t", "none"});
    if (!udp) a.insert(a.end(), {"-u", "none"});
    a.insert(a.end(), {"-T", "none", "-U", "none"});
    if (!net.host_loopback) a.push_back("--no-map-gw");
    a.insert(a.end(), {"--dns-forward", kDnsForward, "--dns-forward", kDnsForward6});
    return a;
}

Plan make_plan(const ContainerSpec& s) {
    Plan p;
    p.identity = s.identity;
    p.policy = s.policy;
    p.process = s.process;
    p.clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    if (s.identity.userns) p.clone_flags |= CLONE_NEWUSER;
    if (!s.policy.share_net) p.clone_flags |= CLONE_NEWNET;
    p.loopback = !s.policy.share_net;

    const std::string& kept = s.layout.persist_dir;  // empty: a temporary container
    // The last step, an overlay: its upper layer on disk, where the container keeps it.
    auto keep = [&](const PersistLayer& layer) {
        if (kept.empty()) return;
        p.steps.back().upper = kept + "/" + layer.upper;
        p.steps.back().work = kept + "/" + layer.work;
    };
    if (!s.layout.rootfs.empty()) {
        // Every target below is resolved inside the tree (mounts.cpp): its symlinked /proc or
        // /tmp cannot send a mount out of it. /var/tmp is the tree's own, as on a booted system.
        add(p, StepKind::RootOverlay, "/", s.layout.rootfs);
        keep(persist_root_layer());
        add_fresh(p, true);
        add_rootfs_home(p, s.layout);
    } else {
        add(p, StepKind::RootTmpfs, "/", "", 0755);
        for (const auto& d : s.layout.system) {
            if (d.is_symlink) {
                add(p, StepKind::Symlink, d.path, d.link_target);
            } else if (d.read_only) {
                add(p, StepKind::Bind, d.path, d.path, 0, true);
            } else {
                add(p, StepKind::Overlay, d.path, d.path);
                keep(persist_layer(d));
            }
        }
        add_fresh(p, false);
        add(p, StepKind::Mkdir, kHomesDir, "", 0755);
        add_home(p, s.layout);
        // A persistent container keeps its home in its own directory.
        if (!kept.empty() && !s.layout.home.empty())
            add(p, StepKind::Bind, s.layout.home, kept + "/" + kPersistHome);
    }
    add_markers(p, s);
    add_dev(p, !s.layout.rootfs.empty());
    add(p, StepKind::Proc, "/proc");
    // As real root (no user namespace) root inside owns /proc's host-wide files:
    // hide those that leak or change host state, as container runtimes do.
    if (!s.identity.userns) {
        for (const char* f : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/timer_stats",
                              "/proc/sched_debug", "/proc/sysrq-trigger", "/proc/latency_stats",
                              "/proc/kmsg", "/proc/slabinfo"})
            add(p, StepKind::MaskFile, f, "/dev/null");
        for (const char* d : {"/proc/acpi", "/proc/scsi", "/proc/asound"})
            add(p, StepKind::MaskDir, d, "", 0555);
        for (const char* d : {"/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs"})
            add(p, StepKind::ReadOnly, d, "", 0, true);
    }
    // A network namespace of its own: a new sysfs, which shows that namespace's devices (lo,
    // pasta's interface) and none of the host's mounts below /sys; one mount instead of a
    // copy of the host's dozen. The host's network: the host's /sys (a new one there needs
    // rights over the host's network namespace, which a user namespace does not have).
    add(p, StepKind::Sysfs, "/sys", s.policy.share_net ? "/sys" : "", 0, true);
    // /sys is read-only, but firmware tables (ACPI, DMI, EFI variables) and power use
    // (RAPL energy counters, a side channel) are the host's to read: Docker masks them too.
    if (!s.identity.userns)
        for (const char* d : {"/sys/firmware", "/sys/devices/virtual/powercap"})
            add(p, StepKind::MaskDir, d, "", 0555);
    // With limits the container has a cgroup of its own (README, "Resource limits"): there it
    // sees that cgroup as the root of each hierarchy, not the host's tree.
    if (s.policy.limits.cgroup()) add(p, StepKind::CgroupFs, "/sys/fs/cgroup", "", 0755, true);
    // Overlays go over every bind (automatic mounts included: the working directory's bind
    // must not hide one, and its writes reach SRC), and a bind inside an overlay over it again.
    for (const auto& b : s.layout.binds)
        if (!b.overlay) add(p, StepKind::Bind, b.dst, b.src, 0, b.ro);
    for (const auto& b : s.layout.binds) {
        if (!b.overlay) continue;
        // Its upper layer is a change set's (README, "Copy-on-write views"): made before the
        // plan for a run; none yet only where nothing runs (--dry-run).
        add(p, StepKind::Overlay, b.dst, b.src);
        p.steps.back().cow = true;
        if (!b.layer.empty()) {
            p.steps.back().upper = b.layer + "/upper";
            p.steps.back().work = b.layer + "/work";
        }
    }
    for (const auto& b : s.layout.binds) {
        if (b.overlay) continue;
        bool inside = false;
        for (const auto& o : s.layout.binds)
            inside = inside || (o.overlay && b.dst != o.dst && path_within(b.dst, o.dst));
        if (inside) add(p, StepKind::Bind, b.dst, b.src, 0, b.ro);
    }
    for (const auto& l : s.layout.links) add(p, StepKind::Symlink, l.path, l.target);
    add_hidden(p, s.layout);
    add(p, StepKind::PivotRoot, "/");
    p.await_teardown = !teardown_reasons(p).empty();
    return p;
}

std::string format_step(const Step& st) {
    std::string line = kind_name(st.kind);
    line.resize(std::max<size_t>(line.size() + 1, 11), ' ');
    line += st.target;
    switch (st.kind) {
    case StepKind::RootOverlay:
    case StepKind::Overlay:
        line += "  (lower " + st.source + ", upper " +
                (!st.upper.empty() ? st.upper
                 : st.cow          ? std::string("a new change set")
                                   : std::string("in memory")) +
                ")";
        break;
    case StepKind::Symlink: line += " -> " + st.source; break;
    case StepKind::DevNode:
    case StepKind::MaskFile: line += "  (from " + st.source + (st.ro ? ", ro)" : ")"); break;
    case StepKind::Sysfs:
        if (st.source.empty()) {
            line += "  (new, the container's network's, ro)";
            break;
        }
        [[fallthrough]];
    case StepKind::Bind: line += "  (from " + st.source + (st.ro ? ", ro)" : ", rw)"); break;
    case StepKind::File:
    case StepKind::FileOver: {
        std::string text = st.text;
        if (!text.empty() && text.back() == '\n') text.pop_back();
        for (auto& c : text) c = c == '\n' ? ' ' : c == '\t' ? ' ' : c;
        line += "  (" + std::string(st.append ? "adds: " : "") + text + ")";
        break;
    }
    default: break;
    }
    if (st.mode) line += "  mode " + octal(st.mode);
    if (st.own_state)
        line += st.make ? "  (kakuri's own state, made if missing)" : "  (kakuri's own state)";
    return line;
}

std::string format_plan(const Plan& p, bool filter_built) {
    std::ostringstream s;
    s << "namespaces: " << (p.identity.userns ? "user " : "") << "mount pid "
      << ((p.clone_flags & CLONE_NEWNET) ? "net " : "") << "uts ipc cgroup\n";
    if (p.identity.userns) {
        s << "uid map:    " << format_map(p.identity.uid_map)
          << "\ngid map:    " << format_map(p.identity.gid_map) << "\n";
        if (p.identity.map_writer == MapWriter::Helpers)
            s << "maps by:    " << p.identity.newuidmap << ", " << p.identity.newgidmap << "\n";
        else if (p.identity.map_writer == MapWriter::Parent)
            s << "maps by:    kakuri (real root)\n";
    } else
        s << "identity:   real root, no user namespace\n";
    s << "network:    " << network_text(p.policy) << "\n";
    s << "hostname:   " << p.policy.hostname << "\n";
    const Limits& l = p.policy.limits;
    if (l.cgroup()) {
        s << "limits:    ";
        if (l.memory) s << " memory " << format_limit_size(l.memory);
        if (l.pids) s << " pids " << l.pids;
        if (l.cpu_millis) s << " cpus " << format_cpus(l.cpu_millis);
        s << " (a cgroup of its own below kakuri's)\n";
    }
    s << "in memory:  "
      << (p.policy.limits.tmpfs_size ? format_limit_size(p.policy.limits.tmpfs_size)
                                     : std::string("half of RAM"))
      << " shared by every writable layer kept in memory (the root, upper layers, fresh "
         "directories)\n";
    for (const auto& st : p.steps) s << format_step(st) << "\n";
    s << "caps:       " << format_caps(p.policy.caps) << "\n";
    s << "seccomp:    "
      << (!p.policy.seccomp ? std::string("off")
          : filter_built    ? std::string("default filter")
                            : std::string("none: ") + kNoFilterNote)
      << "\n";
    s << "workdir:    " << p.process.cwd
      << (p.process.cwd_fallback.empty() ? "" : " (else " + p.process.cwd_fallback + ")") << "\n";
    s << "command:   ";
    for (const auto& a : p.process.argv) s << " " << shell_word(a);
    s << "\n";
    s << "returns:    "
      << (p.await_teardown ? "once the container is gone (" + teardown_reasons(p) + ")"
                           : std::string("as soon as init tells the command's status (the "
                                         "namespaces' teardown finishes on its own)"))
      << "\n";
    return s.str();
}

}  // namespace kakuri
