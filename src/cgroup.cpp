// cgroup: choosing, making, filling and removing the container's cgroup. cgroup v2 rules
// (Documentation/admin-guide/cgroup-v2.rst): a process moves only between cgroups whose common
// ancestor's cgroup.procs the mover may write (delegation: the directory and its cgroup.procs
// and cgroup.subtree_control owned by the user); a non-root cgroup that enables controllers for
// its children holds no process itself ("no internal processes").
#include "cgroup.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "paths.hpp"
#include "supervise.hpp"

namespace kakuri {

namespace {

constexpr uint64_t kCpuPeriodUs = 100000;

struct Mount {
    std::string root;   // the part of the hierarchy mounted there
    std::string point;  // where
    std::string type;   // "cgroup2", "cgroup"
    std::vector<std::string> options;
};

std::vector<std::string> split_on(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; std::getline(in, w, sep);) out.push_back(w);
    return out;
}

bool digits_at(const std::string& s, size_t at) {
    for (size_t i = at; i < at + 3; ++i)
        if (s[i] < '0' || s[i] > '7') return false;
    return true;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && digits_at(s, i + 1)) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<Mount> cgroup_mounts(const std::string& mountinfo) {
    std::vector<Mount> out;
    std::istringstream in(mountinfo);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f = split_on(line, ' ');
        auto dash = std::find(f.begin(), f.end(), "-");
        if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
        Mount m{unescape(f[3]), unescape(f[4]), dash[1], split_on(dash[3], ',')};
        if (m.type == "cgroup2" || m.type == "cgroup") out.push_back(std::move(m));
    }
    return out;
}

struct SelfLine {
    std::string id;
    std::vector<std::string> controllers;
    std::string path;
};

std::vector<SelfLine> self_lines(const std::string& text) {
    std::vector<SelfLine> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        std::string ctl = line.substr(a + 1, b - a - 1);
        out.push_back({line.substr(0, a),
                       ctl.empty() ? std::vector<std::string>{} : split_on(ctl, ','),
                       line.substr(b + 1)});
    }
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

// The directory of cgroup path in a mount of its hierarchy; "" when the mount does not show it.
std::string dir_of(const Mount& m, const std::string& path, const std::string& prefix) {
    if (!path_within(path, m.root)) return "";
    std::string rel = m.root == "/" ? path : path.substr(m.root.size());
    return normalize_path(prefix + m.point + "/" + rel);
}

std::string read_small(const std::string& path) {
    std::string out;
    return read_file(path, out) ? out : "";
}

std::vector<std::string> words_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

bool owned_by(const std::string& path, uid_t uid) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 && st.st_uid == uid;
}

std::string joined(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& w : v) out += (out.empty() ? "" : sep) + w;
    return out;
}

// As real root on a cgroup v2 host: a system scope of its own, where kakuri is alone.
const char* const kRootDelegateHint =
    "systemd-run --scope -p Delegate=yes kakuri ... runs it in a cgroup of its own";
const char* const kDelegateHint =
    "systemd-run --user --scope -p Delegate=yes kakuri ... runs it in a cgroup of its own that "
    "you may write";

// v2, when it will do: kakuri may write below its own cgroup there and every controller needed
// is available. why: what is missing, otherwise.
CgroupPlace try_v2(const std::vector<std::string>& need, const CgroupHost& h,
                   const std::vector<Mount>& mounts, const std::vector<SelfLine>& self,
                   std::string& why) {
    CgroupPlace p;
    auto line = std::find_if(self.begin(), self.end(), [](const SelfLine& l) {
        return l.id == "0" && l.controllers.empty();
    });
    auto mount = std::find_if(mounts.begin(), mounts.end(),
                              [](const Mount& m) { return m.type == "cgroup2"; });
    if (line == self.end() || mount == mounts.end()) {
        why = "no cgroup v2 is mounted";
        return p;
    }
    const std::string parent = dir_of(*mount, line->path, h.prefix);
    if (parent.empty()) {
        why = "kakuri's cgroup v2 " + line->path + " is not visible";
        return p;
    }
    std::vector<std::string> available = words_of(read_small(parent + "/cgroup.controllers"));
    std::vector<std::string> missing;
    for (const auto& c : need)
        if (!has(available, c)) missing.push_back(c);
    if (!missing.empty()) {
        why = "cgroup v2 " + parent + " has no " + joined(missing, ", ") + " controller" +
              (missing.size() > 1 ? "s" : "");
        return p;
    }
    const bool is_root = line->path == "/";
    if (!h.real_root && !(owned_by(parent, h.uid) && owned_by(parent + "/cgroup.procs", h.uid) &&
                          owned_by(parent + "/cgroup.subtree_control", h.uid))) {
        why = "cgroup v2 " + parent + " is not delegated to you";
        return p;
    }
    std::vector<std::string> enabled = words_of(read_small(parent + "/cgroup.subtree_control"));
    std::vector<std::string> enable;
    for (const auto& c : need)
        if (!has(enabled, c)) enable.push_back("+" + c);
    p.enable = joined(enable, " ");
    if (!is_root && !enable.empty()) {
        // The leaf rule: kakuri leaves the parent for a leaf of its own, which it may do only
        // when it is alone there (it never moves another process).
        for (const auto& w : words_of(read_small(parent + "/cgroup.procs"))) {
            if (w != std::to_string(h.pid)) {
                why = "cgroup v2 " + parent + " holds other processes than kakuri";
                return p;
            }
        }
        p.own_leaf = true;
    }
    p.kind = CgroupKind::V2;
    p.hierarchies.push_back({"", parent, {}});
    return p;
}

CgroupPlace try_v1(const std::vector<std::string>& need, const CgroupHost& h,
                   const std::vector<Mount>& mounts, const std::vector<SelfLine>& self,
                   std::string& why) {
    CgroupPlace p;
    std::vector<std::string> missing;
    for (const auto& c : need) {
        auto line = std::find_if(self.begin(), self.end(),
                                 [&](const SelfLine& l) { return has(l.controllers, c); });
        auto mount = std::find_if(mounts.begin(), mounts.end(), [&](const Mount& m) {
            return m.type == "cgroup" && has(m.options, c);
        });
        std::string parent = line == self.end() || mount == mounts.end()
                                 ? std::string()
                                 : dir_of(*mount, line->path, h.prefix);
        struct stat st;
        if (parent.empty() || stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            missing.push_back(c);
            continue;
        }
        auto same = std::find_if(p.hierarchies.begin(), p.hierarchies.end(),
                                 [&](const CgroupHierarchy& x) { return x.parent == parent; });
        if (same == p.hierarchies.end()) {
            p.hierarchies.push_back({joined(line->controllers, ","), parent, {}});
            same = p.hierarchies.end() - 1;
        }
    }
    if (!missing.empty()) {
        why = "no cgroup v1 " + joined(missing, ", ") + " hierarchy is mounted";
        return {};
    }
    // CPU time is counted by cpuacct, which v1 may mount apart from cpu: the container's cgroup
    // there too, with nothing written, so that its usage can be read.
    if (has(need, "cpu")) {
        auto line = std::find_if(self.begin(), self.end(),
                                 [](const SelfLine& l) { return has(l.controllers, "cpuacct"); });
        auto mount = std::find_if(mounts.begin(), mounts.end(), [](const Mount& m) {
            return m.type == "cgroup" && has(m.options, "cpuacct");
        });
        std::string parent = line == self.end() || mount == mounts.end()
                                 ? std::string()
                                 : dir_of(*mount, line->path, h.prefix);
        struct stat st;
        if (!parent.empty() && stat(parent.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
            std::none_of(p.hierarchies.begin(), p.hierarchies.end(),
                         [&](const CgroupHierarchy& x) { return x.parent == parent; }))
            p.hierarchies.push_back({joined(line->controllers, ","), parent, {}});
    }
    if (!h.real_root) {
        why = "cgroup v1 is real root's alone";
        return {};
    }
    p.kind = CgroupKind::V1;
    return p;
}

}  // namespace

CgroupHost scan_cgroup_host() {
    CgroupHost h;
    read_file("/proc/self/cgroup", h.self_cgroup);
    read_file("/proc/self/mountinfo", h.mountinfo);
    h.uid = getuid();
    h.real_root = h.uid == 0;
    h.pid = getpid();
    h.start_time = process_start_time(h.pid);
    return h;
}

std::vector<CgroupWrite> limit_writes(CgroupKind kind, const std::string& c, const Limits& l) {
    const std::string cpu_quota = std::to_string(l.cpu_millis * kCpuPeriodUs / 1000);
    if (kind == CgroupKind::V2) {
        // No swap: a container over its memory is killed, not swapped out.
        if (c == "memory" && l.memory)
            return {{"memory.max", std::to_string(l.memory)}, {"memory.swap.max", "0", true}};
        if (c == "pids" && l.pids) return {{"pids.max", std::to_string(l.pids)}};
        if (c == "cpu" && l.cpu_millis)
            return {{"cpu.max", cpu_quota + " " + std::to_string(kCpuPeriodUs)}};
    } else if (kind == CgroupKind::V1) {
        if (c == "memory" && l.memory)
            return {{"memory.limit_in_bytes", std::to_string(l.memory)},
                    {"memory.memsw.limit_in_bytes", std::to_string(l.memory), true}};
        if (c == "pids" && l.pids) return {{"pids.max", std::to_string(l.pids)}};
        if (c == "cpu" && l.cpu_millis)
            return {{"cpu.cfs_period_us", std::to_string(kCpuPeriodUs)},
                    {"cpu.cfs_quota_us", cpu_quota}};
    }
    return {};
}

CgroupPlace locate_cgroup(const Limits& l, const CgroupHost& h) {
    std::vector<std::string> need;
    if (l.memory) need.push_back("memory");
    if (l.pids) need.push_back("pids");
    if (l.cpu_millis) need.push_back("cpu");
    const std::vector<Mount> mounts = cgroup_mounts(h.mountinfo);
    const std::vector<SelfLine> self = self_lines(h.self_cgroup);
    std::string why_v2, why_v1;
    CgroupPlace p = try_v2(need, h, mounts, self, why_v2);
    if (p.kind == CgroupKind::None) p = try_v1(need, h, mounts, self, why_v1);
    p.name = "kakuri-" + std::to_string(h.pid) + "-" + std::to_string(h.start_time);
    for (const auto& line : self) {
        auto mount = std::find_if(mounts.begin(), mounts.end(), [&](const Mount& m) {
            return line.controllers.empty()
                       ? m.type == "cgroup2"
                       : m.type == "cgroup" && has(m.options, line.controllers[0]);
        });
        std::string dir = mount == mounts.end() ? "" : dir_of(*mount, line.path, h.prefix);
        if (!dir.empty() && !has(p.sweep, dir)) p.sweep.push_back(dir);
    }
    if (p.kind == CgroupKind::None) {
        std::vector<std::string> asked;
        if (l.memory) asked.push_back("--memory " + format_limit_size(l.memory));
        if (l.pids) asked.push_back("--pids-limit " + std::to_string(l.pids));
        if (l.cpu_millis) asked.push_back("--cpus " + format_cpus(l.cpu_millis));
        p.refusal = joined(asked, ", ") + " need" + (asked.size() == 1 ? "s" : "") +
                    " a cgroup kakuri may make below its own, and there is none: " + why_v2 +
                    (why_v1.empty() ? "" : ", and " + why_v1) + " (" +
                    (h.real_root ? kRootDelegateHint
                                 : std::string(kDelegateHint) + "; or run kakuri as root") +
                    ")";
        return p;
    }
    for (auto& hier : p.hierarchies) {
        std::vector<std::string> ctls =
            p.kind == CgroupKind::V2 ? need : split_on(hier.controllers, ',');
        for (const auto& c : ctls) {
            if (!has(need, c)) continue;
            auto w = limit_writes(p.kind, c, l);
            hier.writes.insert(hier.writes.end(), w.begin(), w.end());
        }
    }
    return p;
}

std::string format_cgroup(const CgroupPlace& p) {
    if (p.kind == CgroupKind::None) return "cgroup:     none: " + p.refusal + "\n";
    std::string out;
    for (const auto& h : p.hierarchies) {
        out += std::string("cgroup:     ") + (p.kind == CgroupKind::V2 ? "v2 " : "v1 ") + h.parent +
               "/" + p.name + " (";
        std::string files;
        for (const auto& w : h.writes)
            files += (files.empty() ? "" : ", ") + w.file + " " + w.value;
        out += (files.empty() ? std::string("counting only") : files) + ")\n";
    }
    if (p.own_leaf)
        out += "cgroup:     kakuri moves into " + p.hierarchies[0].parent + "/" + p.name +
               "-self, then " + p.hierarchies[0].parent + "/cgroup.subtree_control gets " +
               p.enable + "\n";
    else if (!p.enable.empty())
        out += "cgroup:     " + p.hierarchies[0].parent + "/cgroup.subtree_control gets " +
               p.enable + "\n";
    return out;
}

namespace {

void write_control(const std::string& path, const std::string& value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw Error("open " + path, errno);
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n != static_cast<ssize_t>(value.size()))
        throw Error("write " + value + " to " + path, errno);
}

bool exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

// rmdir a cgroup whose last processes are exiting: the kernel lets go of an exited task a
// moment after its parent has reaped it (EBUSY until then).
void remove_cgroup(const std::string& dir) {
    for (int i = 0; i < 200; ++i) {
        if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) return;
        poll(nullptr, 0, 10);
    }
}

}  // namespace

Cgroup Cgroup::make(const CgroupPlace& p) {
    if (p.kind == CgroupKind::None) throw Error(p.refusal);
    remove_stale_cgroups(p.sweep);
    Cgroup cg;
    cg.kind_ = p.kind;
    if (p.own_leaf) {
        const std::string leaf = p.hierarchies[0].parent + "/" + p.name + "-self";
        if (mkdir(leaf.c_str(), 0755) != 0) throw Error("create the cgroup " + leaf, errno);
        write_control(leaf + "/cgroup.procs", "0");
    }
    try {
        if (!p.enable.empty()) {
            try {
                write_control(p.hierarchies[0].parent + "/cgroup.subtree_control", p.enable);
            } catch (const Error& e) {
                throw e.wrap("", std::string(" (") + kDelegateHint + ")");
            }
        }
        for (const auto& h : p.hierarchies) {
            const std::string dir = h.parent + "/" + p.name;
            if (mkdir(dir.c_str(), 0755) != 0) throw Error("create the cgroup " + dir, errno);
            cg.dirs_.push_back(dir);
            for (const auto& w : h.writes) {
                if (w.optional && !exists(dir + "/" + w.file)) continue;
                write_control(dir + "/" + w.file, w.value);
                if (w.file.rfind("memory.", 0) == 0) cg.memory_dir_ = dir;
            }
        }
    } catch (...) {
        for (auto it = cg.dirs_.rbegin(); it != cg.dirs_.rend(); ++it) rmdir(it->c_str());
        cg.dirs_.clear();
        throw;
    }
    return cg;
}

Cgroup::Cgroup(Cgroup&& o) noexcept
    : kind_(o.kind_), dirs_(std::move(o.dirs_)), memory_dir_(std::move(o.memory_dir_)) {
    o.dirs_.clear();
}

Cgroup::~Cgroup() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) remove_cgroup(*it);
}

void Cgroup::place(pid_t pid) const {
    for (const auto& d : dirs_) write_control(d + "/cgroup.procs", std::to_string(pid));
}

uint64_t Cgroup::oom_kills() const {
    if (memory_dir_.empty()) return 0;
    const std::string text = read_small(
        memory_dir_ + (kind_ == CgroupKind::V2 ? "/memory.events" : "/memory.oom_control"));
    std::istringstream in(text);
    for (std::string key, value; in >> key >> value;)
        if (key == "oom_kill") return std::stoull(value);
    return 0;
}

bool join_cgroups_of(pid_t pid) {
    std::string text, mountinfo;
    if (!read_file("/proc/" + std::to_string(pid) + "/cgroup", text))
        throw Error("read the cgroups of pid " + std::to_string(pid), errno);
    read_file("/proc/self/mountinfo", mountinfo);
    const std::vector<Mount> mounts = cgroup_mounts(mountinfo);
    bool joined_any = false;
    for (const auto& line : self_lines(text)) {
        if (base_name(line.path).rfind("kakuri-", 0) != 0) continue;
        auto mount = std::find_if(mounts.begin(), mounts.end(), [&](const Mount& m) {
            if (line.controllers.empty()) return m.type == "cgroup2";
            return m.type == "cgroup" && has(m.options, line.controllers[0]);
        });
        if (mount == mounts.end()) continue;
        const std::string dir = dir_of(*mount, line.path, "");
        if (dir.empty()) continue;
        write_control(dir + "/cgroup.procs", "0");
        joined_any = true;
    }
    return joined_any;
}

void remove_stale_cgroups(const std::vector<std::string>& parents) {
    for (const auto& parent : parents) {
        UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) continue;
        std::vector<std::string> names;
        if (DIR* d = fdopendir(::dup(dir.get()))) {
            while (dirent* e = readdir(d)) names.emplace_back(e->d_name);
            closedir(d);
        }
        for (const auto& name : names) {
            // kakuri-PID-START or kakuri-PID-START-self, digits only: nothing else is ours.
            std::vector<std::string> parts = split_on(name, '-');
            if (parts.size() < 3 || parts.size() > 4 || parts[0] != "kakuri" ||
                (parts.size() == 4 && parts[3] != "self"))
                continue;
            if (parts[1].empty() || parts[2].empty() || parts[1].size() > 10 ||
                parts[2].size() > 20 || !std::all_of(parts[1].begin(), parts[1].end(), ::isdigit) ||
                !std::all_of(parts[2].begin(), parts[2].end(), ::isdigit))
                continue;
            const pid_t pid = static_cast<pid_t>(std::stoll(parts[1]));
            if (process_start_time(pid) == std::stoull(parts[2])) continue;  // still at work
            // Only an empty one goes (a detached container's, still running, stays). One whose
            // last process has exited but is not reaped yet (a detached init, reaped by the
            // host's pid 1) is busy a moment longer: waited for, as for our own.
            std::string procs;
            if (read_file(parent + "/" + name + "/cgroup.procs", procs) && !procs.empty()) continue;
            remove_cgroup(parent + "/" + name);
        }
    }
}

}  // namespace kakuri
