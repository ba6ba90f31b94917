// bundle: a persistent container as an OCI runtime bundle: config.json made from the container's
// spec and plan (pure), rootfs copied as commit composes the root, the whole renamed into place.
#include "bundle.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "capnames.hpp"
#include "paths.hpp"
#include "plan.hpp"
#include "seccomp.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

using Json = nlohmann::ordered_json;

// The devices kakuri binds from the host into every container's /dev (plan.cpp's add_dev): the
// runtime spec's default devices, which every runtime makes.
const std::string kDefaultDevices[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                       "/dev/random", "/dev/urandom", "/dev/tty"};

Json mount(const std::string& dst, const std::string& type, const std::string& src,
           std::vector<std::string> options) {
    Json m;
    m["destination"] = dst;
    m["type"] = type;
    m["source"] = src;
    m["options"] = options;
    return m;
}

// A bind as kakuri makes it (mounts.cpp): the whole tree below the source, nosuid and nodev,
// read-only all the way down when ro (runc and crun take "rro" for that, Linux 5.12).
Json bind_mount(const std::string& dst, const std::string& src, bool ro) {
    std::vector<std::string> o = {"rbind", "nosuid", "nodev"};
    if (ro) {
        o.push_back("ro");
        o.push_back("rro");
    } else {
        o.push_back("rw");
    }
    return mount(dst, "bind", src, o);
}

std::string mode_option(mode_t m) {
    char buf[32];
    snprintf(buf, sizeof buf, "mode=%o", static_cast<unsigned>(m));
    return buf;
}

std::vector<std::string> cap_names(uint64_t mask) {
    std::vector<std::string> out;
    if (!mask) return out;
    for (const std::string& n : split(format_caps(mask), ',')) {
        std::string up = "CAP_";
        for (char c : n) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.push_back(up);
    }
    return out;
}

Json id_mappings(const std::vector<IdMapLine>& map) {
    Json out = Json::array();
    for (const auto& l : map)
        out.push_back({{"containerID", l.inside}, {"hostID", l.outside}, {"size", l.count}});
    return out;
}

std::string oci_arch(const std::string& abi) {
    std::string up;
    for (char c : abi) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return "SCMP_ARCH_" + up;
}

// The default filter in the runtime spec's form, from the table the BPF program is made of.
Json seccomp_config() {
    Json s;
    s["defaultAction"] = "SCMP_ACT_ALLOW";
    Json arches = Json::array();
    for (const auto& abi : default_filter_abis()) arches.push_back(oci_arch(abi));
    s["architectures"] = arches;
    Json calls = Json::array();
    for (const auto& r : default_filter_rules()) {
        Json c;
        c["names"] = {r.name};
        c["action"] = "SCMP_ACT_ERRNO";
        c["errnoRet"] = r.err;
        if (r.masked)
            c["args"] = {{{"index", r.arg},
                          {"value", r.mask},
                          {"valueTwo", r.value},
                          {"op", "SCMP_CMP_MASKED_EQ"}}};
        calls.push_back(c);
    }
    s["syscalls"] = calls;
    return s;
}

// Where a pinned directory of kakuri's own state comes from on the host: the last bind that
// shows it (plan.cpp's add_hidden pins only through binds).
const Bind* bind_showing(const Layout& l, const std::string& place) {
    const Bind* found = nullptr;
    for (const auto& b : l.binds)
        if (!b.overlay && path_within(place, b.dst)) found = &b;
    return found;
}

}  // namespace

std::string bundle_config(const ContainerSpec& spec, bool terminal) {
    const Layout& layout = spec.layout;
    if (layout.rootfs.empty())
        throw Error(
            "a container on the host's system directories has no root of its own to "
            "export: only one made with --image or --rootfs");
    for (const auto& b : layout.binds)
        if (b.overlay)
            throw Error("--overlay " + b.src + ": a bundle cannot keep its writes as a change " +
                        "set (apply or discard change set " + std::to_string(b.change_set) +
                        " and create the container without --overlay)");
    const Plan plan = make_plan(spec);

    Json c;
    c["ociVersion"] = "1.0.2";
    Json proc;
    proc["terminal"] = terminal;
    proc["user"] = {{"uid", spec.identity.uid}, {"gid", spec.identity.gid}};
    proc["args"] = spec.process.argv;
    proc["env"] = spec.process.env;
    proc["cwd"] = spec.process.cwd.empty() ? std::string("/") : spec.process.cwd;
    // As kakuri's apply_caps: bounding, permitted and effective the same, inheritable and
    // ambient empty.
    const std::vector<std::string> caps = cap_names(spec.policy.caps);
    proc["capabilities"] = {{"bounding", caps},
                            {"effective", caps},
                            {"inheritable", Json::array()},
                            {"permitted", caps},
                            {"ambient", Json::array()}};
    proc["noNewPrivileges"] = true;
    c["process"] = proc;
    c["root"] = {{"path", "rootfs"}, {"readonly", false}};
    c["hostname"] = spec.policy.hostname;

    Json mounts = Json::array();
    Json masked = Json::array();
    Json readonly = Json::array();
    std::vector<std::string> fresh_size;
    if (spec.policy.limits.tmpfs_size)
        fresh_size.push_back("size=" + std::to_string(spec.policy.limits.tmpfs_size));
    for (const Step& s : plan.steps) {
        switch (s.kind) {
        case StepKind::RootOverlay:
        case StepKind::PivotRoot:
            break;  // root.path, and the runtime's own pivot
        // The home, made in the copied root where missing (write_bundle); /dev's mount points.
        case StepKind::Mkdir: break;
        // kakuri's markers (/run/.containerenv, /etc/hostname, /etc/hosts): the hostname is
        // the UTS name above; the tree's own files stay as they are.
        case StepKind::File:
        case StepKind::FileOver: break;
        case StepKind::Symlink:
            // /dev/fd, /dev/stdin, ..., /dev/ptmx: every OCI runtime makes them in its /dev.
            if (!path_within(s.target, "/dev"))
                throw Error("a bundle cannot make the link " + s.target + " -> " + s.source);
            break;
        case StepKind::Tmpfs:
            if (s.target == "/dev") {
                mounts.push_back(
                    mount("/dev", "tmpfs", "tmpfs",
                          {"nosuid", "strictatime", mode_option(s.mode), "size=65536k"}));
            } else {
                std::vector<std::string> o = {"nosuid", "nodev", mode_option(s.mode)};
                o.insert(o.end(), fresh_size.begin(), fresh_size.end());
                mounts.push_back(mount(s.target, "tmpfs", "tmpfs", o));
                // POSIX message queues of the container's IPC namespace, beside its /dev/shm.
                if (s.target == "/dev/shm")
                    mounts.push_back(
                        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
            }
            break;
        case StepKind::DevNode:
            // Every OCI runtime supplies exactly these (the runtime spec's default devices);
            // listed again they would need device cgroup rules of their own.
            if (std::find(std::begin(kDefaultDevices), std::end(kDefaultDevices), s.target) ==
                std::end(kDefaultDevices))
                throw Error("a bundle cannot hold the device " + s.target);
            break;
        case StepKind::Devpts:
            // No gid=: gid 5 (tty) is usually not mapped in a user namespace (mounts.cpp).
            mounts.push_back(
                mount(s.target, "devpts", "devpts",
                      {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
            break;
        case StepKind::Proc:
            mounts.push_back(mount(s.target, "proc", "proc", {"nosuid", "noexec", "nodev"}));
            break;
        case StepKind::Sysfs:
            // The host's network: the host's /sys, read-only (a new sysfs needs rights over the
            // host's network namespace, which a user namespace lacks).
            if (s.source.empty())
                mounts.push_back(
                    mount(s.target, "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
            else
                mounts.push_back(mount(s.target, "bind", s.source,
                                       {"rbind", "nosuid", "noexec", "nodev", "ro", "rro"}));
            break;
        case StepKind::CgroupFs:
            mounts.push_back(mount(s.target, "cgroup", "cgroup",
                                   {"nosuid", "noexec", "nodev", "relatime", "ro"}));
            break;
        case StepKind::Bind: mounts.push_back(bind_mount(s.target, s.source, s.ro)); break;
        case StepKind::Pin: {
            // Bound onto itself so that nothing inside can rename it away: in a bundle, the
            // same host directory bound once more at its place.
            const Bind* b = bind_showing(layout, s.target);
            if (!b) throw Error("a bundle cannot pin " + s.target + ": no bind shows it");
            mounts.push_back(bind_mount(
                s.target, b->src + s.target.substr(b->dst == "/" ? 0 : b->dst.size()), b->ro));
            break;
        }
        case StepKind::MaskFile:
        case StepKind::MaskDir: masked.push_back(s.target); break;
        case StepKind::ReadOnly: readonly.push_back(s.target); break;
        case StepKind::RootTmpfs:
        case StepKind::Overlay: throw Error("a bundle cannot hold the host's system directories");
        }
    }
    c["mounts"] = mounts;

    Json linux;
    if (spec.identity.userns) {
        linux["uidMappings"] = id_mappings(spec.identity.uid_map);
        linux["gidMappings"] = id_mappings(spec.identity.gid_map);
    }
    Json ns = Json::array();
    for (const char* n : {"pid", "mount", "ipc", "uts", "cgroup"}) ns.push_back({{"type", n}});
    // Without one, the runtime's caller's network: --network=host.
    if (plan.clone_flags & CLONE_NEWNET) ns.push_back({{"type", "network"}});
    if (spec.identity.userns) ns.push_back({{"type", "user"}});
    linux["namespaces"] = ns;
    const Limits& l = spec.policy.limits;
    if (l.cgroup()) {
        Json r;
        // memory.swap.max 0, as kakuri sets it: memory and swap together no more than memory.
        if (l.memory) r["memory"] = {{"limit", l.memory}, {"swap", l.memory}};
        if (l.pids) r["pids"] = {{"limit", l.pids}};
        if (l.cpu_millis) r["cpu"] = {{"quota", l.cpu_millis * 100}, {"period", 100000}};
        linux["resources"] = r;
    }
    linux["maskedPaths"] = masked;
    linux["readonlyPaths"] = readonly;
    if (spec.policy.seccomp) linux["seccomp"] = seccomp_config();
    c["linux"] = linux;
    return c.dump(4) + "\n";
}

void write_bundle(const std::string& config, const CommitFrom& from, const ContainerSpec& spec,
                  const std::string& dir, bool terminal, int verbosity) {
    const std::string text = bundle_config(spec, terminal);
    const std::string parent = parent_path(dir), name = base_name(dir);
    if (name.empty() || name == "." || name == "..") throw Error("export: bad DIR " + shown(dir));
    UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_fd) throw Error("export: cannot open " + shown(parent), errno);
    struct stat st;
    if (fstatat(parent_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        throw Error("export: " + shown(dir) + " exists (name a directory to make)");
    // Hidden beside it, renamed into place at the end: DIR appears whole or not at all.
    const std::string tmp = "." + name + ".kakuri-" + std::to_string(getpid());
    check(mkdirat(parent_fd.get(), tmp.c_str(), 0700), "export: make " + parent + "/" + tmp);
    bool done = false;
    ScopeGuard cleanup([&] {
        if (done) return;
        try {
            remove_root_copy(config, parent_fd.get(), tmp, "remove " + parent + "/" + tmp);
        } catch (const Error&) {
        }
    });
    UniqueFd tmp_fd(
        ::openat(parent_fd.get(), tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!tmp_fd) throw Error("export: open " + parent + "/" + tmp, errno);
    const std::string home = spec.layout.home;
    copy_root(config, from, tmp_fd.get(), parent + "/" + tmp, verbosity, [&](int rootfs) {
        // The home kakuri makes in the root where it is missing (plan.cpp's add_rootfs_home),
        // each directory looked up inside the copied root: a link there leads nowhere else.
        if (home.empty()) return;
        std::vector<std::string> chain;
        for (std::string d = home; d != "/"; d = parent_path(d)) chain.push_back(d);
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            UniqueFd up(sys_openat2(rootfs, parent_path(*it).c_str(),
                                    O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
            if (!up) throw Error("make the home " + *it + " in the bundle's root", errno);
            const mode_t mode = std::next(it) == chain.rend() ? 0700 : 0755;
            if (mkdirat(up.get(), base_name(*it).c_str(), mode) != 0 && errno != EEXIST)
                throw Error("make the home " + *it + " in the bundle's root", errno);
        }
    });
    UniqueFd out(::openat(tmp_fd.get(), "config.json",
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) throw Error("export: write config.json", errno);
    for (size_t at = 0; at < text.size();) {
        ssize_t n = ::write(out.get(), text.data() + at, text.size() - at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error("export: write config.json", n < 0 ? errno : ENOSPC);
        at += static_cast<size_t>(n);
    }
    check(fsync(out.get()), "export: write config.json");
    // Others may pass through to rootfs (a runtime's process in a user namespace is not the
    // caller), not list it; config.json stays the caller's alone.
    check(fchmod(tmp_fd.get(), 0711), "export: chmod " + parent + "/" + tmp);
    if (renameat2(parent_fd.get(), tmp.c_str(), parent_fd.get(), name.c_str(), RENAME_NOREPLACE) !=
        0) {
        if (errno == EEXIST) throw Error("export: " + shown(dir) + " exists (made meanwhile)");
        throw Error("export: rename " + parent + "/" + tmp + " to " + dir, errno);
    }
    done = true;
}

}  // namespace kakuri
