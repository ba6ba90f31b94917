// Unit tests for cgroup: where a container's cgroup goes and what its files get, on fake cgroup
// trees laid out in a scratch directory (v2 delegated, v2 root, v1 hybrid, nothing writable),
// and which leftovers are removed.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "cgroup.hpp"
#include "scratch.hpp"
#include "supervise.hpp"

namespace kakuri {

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// A cgroup directory of the fake tree, with the files locate_cgroup reads.
std::string cgroup_dir(const Scratch& s, const std::string& rel, const std::string& controllers,
                       const std::string& subtree = "", const std::string& procs = "") {
    std::string path;
    for (const auto& part :
         {std::string("sys"), std::string("sys/fs"), std::string("sys/fs/cgroup")})
        if (::access((s.dir + "/" + part).c_str(), F_OK) != 0) s.mkdir(part);
    std::string at = "sys/fs/cgroup";
    size_t from = 0;
    while (from < rel.size()) {
        size_t slash = rel.find('/', from);
        if (slash == std::string::npos) slash = rel.size();
        at += "/" + rel.substr(from, slash - from);
        if (::access((s.dir + "/" + at).c_str(), F_OK) != 0) s.mkdir(at);
        from = slash + 1;
    }
    if (!controllers.empty()) s.file(at + "/cgroup.controllers", 0644, controllers + "\n");
    s.file(at + "/cgroup.subtree_control", 0644, subtree + "\n");
    s.file(at + "/cgroup.procs", 0644, procs);
    return s.dir + "/" + at;
}

CgroupHost host_of(const Scratch& s, const std::string& self, const std::string& mountinfo) {
    CgroupHost h;
    h.self_cgroup = self;
    h.mountinfo = mountinfo;
    h.prefix = s.dir;
    h.uid = getuid();
    h.real_root = false;
    h.pid = 4242;
    h.start_time = 777;
    return h;
}

const char* const kUnified = "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw\n";

Limits all_three() {
    Limits l;
    l.memory = 256ULL << 20;
    l.pids = 50;
    l.cpu_millis = 500;
    return l;
}

}  // namespace

TEST_CASE("cgroup: the files of each controller, v2 and v1") {
    const Limits l = all_three();
    CHECK(limit_writes(CgroupKind::V2, "memory", l) ==
          std::vector<CgroupWrite>{{"memory.max", "268435456", false},
                                   {"memory.swap.max", "0", true}});
    CHECK(limit_writes(CgroupKind::V2, "pids", l) ==
          std::vector<CgroupWrite>{{"pids.max", "50", false}});
    CHECK(limit_writes(CgroupKind::V2, "cpu", l) ==
          std::vector<CgroupWrite>{{"cpu.max", "50000 100000", false}});
    CHECK(limit_writes(CgroupKind::V1, "memory", l) ==
          std::vector<CgroupWrite>{{"memory.limit_in_bytes", "268435456", false},
                                   {"memory.memsw.limit_in_bytes", "268435456", true}});
    CHECK(limit_writes(CgroupKind::V1, "pids", l) ==
          std::vector<CgroupWrite>{{"pids.max", "50", false}});
    CHECK(limit_writes(CgroupKind::V1, "cpu", l) ==
          std::vector<CgroupWrite>{{"cpu.cfs_period_us", "100000", false},
                                   {"cpu.cfs_quota_us", "50000", false}});
    Limits two;
    two.cpu_millis = 2000;
    CHECK(limit_writes(CgroupKind::V2, "cpu", two)[0].value == "200000 100000");
    CHECK(limit_writes(CgroupKind::V2, "memory", two).empty());  // not asked for
    CHECK(limit_writes(CgroupKind::None, "pids", l).empty());
}

TEST_CASE("cgroup: v2 delegated to the caller (a systemd scope): a leaf of kakuri's own first") {
    Scratch s("cgroup");
    const std::string scope = "user.slice/user@1000.service/app.slice/run-r1.scope";
    const std::string parent = cgroup_dir(s, scope, "cpu memory pids", "", "4242\n");
    CgroupHost h = host_of(s, "0::/" + scope + "\n", kUnified);
    CgroupPlace p = locate_cgroup(all_three(), h);
    REQUIRE(p.kind == CgroupKind::V2);
    CHECK(p.refusal.empty());
    CHECK(p.name == "kakuri-4242-777");
    REQUIRE(p.hierarchies.size() == 1);
    CHECK(p.hierarchies[0].parent == parent);
    CHECK(p.own_leaf);
    CHECK(p.enable == "+memory +pids +cpu");
    CHECK(p.hierarchies[0].writes == std::vector<CgroupWrite>{{"memory.max", "268435456", false},
                                                              {"memory.swap.max", "0", true},
                                                              {"pids.max", "50", false},
                                                              {"cpu.max", "50000 100000", false}});
    const std::string text = format_cgroup(p);
    CAPTURE(text);
    CHECK(contains(text, "cgroup:     v2 " + parent + "/kakuri-4242-777 (memory.max 268435456, "));
    CHECK(contains(text, "kakuri moves into " + parent + "/kakuri-4242-777-self"));

    SUBCASE("only what was asked for") {
        Limits pids;
        pids.pids = 7;
        CgroupPlace q = locate_cgroup(pids, h);
        REQUIRE(q.kind == CgroupKind::V2);
        CHECK(q.enable == "+pids");
        CHECK(q.hierarchies[0].writes == std::vector<CgroupWrite>{{"pids.max", "7", false}});
    }
    SUBCASE("another process in the scope: kakuri never moves it, and refuses") {
        const std::string procs = parent + "/cgroup.procs";
        REQUIRE(unlink(procs.c_str()) == 0);
        s.file(scope.empty() ? "" : "sys/fs/cgroup/" + scope + "/cgroup.procs", 0644, "4242\n99\n");
        CgroupPlace q = locate_cgroup(all_three(), h);
        CHECK(q.kind == CgroupKind::None);
        CHECK(contains(q.refusal, "holds other processes than kakuri"));
        CHECK(contains(q.refusal, "systemd-run --user --scope -p Delegate=yes kakuri"));
    }
    SUBCASE("a controller missing") {
        Scratch t("cgroup");
        cgroup_dir(t, "a.scope", "cpu pids", "", "4242\n");
        CgroupPlace q = locate_cgroup(all_three(), host_of(t, "0::/a.scope\n", kUnified));
        CHECK(q.kind == CgroupKind::None);
        CHECK(contains(q.refusal, "has no memory controller"));
        CHECK(contains(q.refusal, "--memory 256M, --pids-limit 50, --cpus 0.5 need a cgroup"));
    }
}

TEST_CASE("cgroup: v2 not delegated, unprivileged: refused, naming how to get one") {
    Scratch s("cgroup");
    cgroup_dir(s, "user.slice/session-3.scope", "cpu memory pids", "", "4242\n");
    CgroupHost h = host_of(s, "0::/user.slice/session-3.scope\n", kUnified);
    h.uid = getuid() + 1;  // the files are someone else's
    CgroupPlace p = locate_cgroup(all_three(), h);
    CHECK(p.kind == CgroupKind::None);
    CHECK(p.hierarchies.empty());
    CHECK(contains(p.refusal, "is not delegated to you"));
    CHECK(contains(p.refusal, "systemd-run --user --scope -p Delegate=yes kakuri"));
    CHECK(format_cgroup(p) == "cgroup:     none: " + p.refusal + "\n");
}

TEST_CASE("cgroup: v2 as real root in a session scope it shares: refused, naming a system scope") {
    Scratch s("cgroup");
    cgroup_dir(s, "user.slice/session-1.scope", "cpu memory pids", "", "4242\n977\n");
    CgroupHost h = host_of(s, "0::/user.slice/session-1.scope\n", kUnified);
    h.real_root = true;
    CgroupPlace p = locate_cgroup(all_three(), h);
    CHECK(p.kind == CgroupKind::None);
    CHECK(contains(p.refusal, "holds other processes than kakuri"));
    CHECK(contains(p.refusal, "(systemd-run --scope -p Delegate=yes kakuri ..."));
    CHECK_FALSE(contains(p.refusal, "--user"));
}

TEST_CASE("cgroup: v2 as real root in the root cgroup: directly below it, no leaf needed") {
    Scratch s("cgroup");
    const std::string root = cgroup_dir(s, "", "cpu io memory pids", "memory pids", "1\n2\n");
    CgroupHost h = host_of(s, "0::/\n", kUnified);
    h.real_root = true;
    h.uid = getuid() + 1;  // real root writes whoever owns the files
    CgroupPlace p = locate_cgroup(all_three(), h);
    REQUIRE(p.kind == CgroupKind::V2);
    CHECK(p.hierarchies[0].parent == root);
    CHECK_FALSE(p.own_leaf);  // the root cgroup may hold processes and enable controllers
    CHECK(p.enable == "+cpu");
    CHECK(contains(format_cgroup(p), root + "/cgroup.subtree_control gets +cpu"));
}

TEST_CASE("cgroup: v1 hybrid as real root: each controller below kakuri's cgroup there") {
    Scratch s("cgroup");
    cgroup_dir(s, "unified", "");  // cgroup v2 mounted, without controllers
    s.mkdir("sys/fs/cgroup/memory");
    s.mkdir("sys/fs/cgroup/memory/process_api");
    const std::string mem = s.mkdir("sys/fs/cgroup/memory/process_api/d07");
    const std::string cpu = s.mkdir("sys/fs/cgroup/cpu,cpuacct");
    const std::string pids = s.mkdir("sys/fs/cgroup/pids");
    const std::string mountinfo =
        "30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "33 25 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
    const std::string self = "8:pids:/\n4:memory:/process_api/d07\n1:cpu,cpuacct:/\n0::/\n";
    CgroupHost h = host_of(s, self, mountinfo);
    h.real_root = true;
    CgroupPlace p = locate_cgroup(all_three(), h);
    REQUIRE(p.kind == CgroupKind::V1);
    CHECK_FALSE(p.own_leaf);
    CHECK(p.enable.empty());
    REQUIRE(p.hierarchies.size() == 3);
    CHECK(p.hierarchies[0].parent == mem);
    CHECK(p.hierarchies[0].controllers == "memory");
    CHECK(p.hierarchies[0].writes == limit_writes(CgroupKind::V1, "memory", all_three()));
    CHECK(p.hierarchies[1].parent == pids);
    CHECK(p.hierarchies[1].writes == limit_writes(CgroupKind::V1, "pids", all_three()));
    CHECK(p.hierarchies[2].parent == cpu);
    CHECK(p.hierarchies[2].controllers == "cpu,cpuacct");
    CHECK(p.hierarchies[2].writes == limit_writes(CgroupKind::V1, "cpu", all_three()));
    // Leftovers are looked for in every hierarchy, v2's too, not only those this run uses.
    CHECK(p.sweep == std::vector<std::string>{pids, mem, cpu, s.dir + "/sys/fs/cgroup/unified"});
    const std::string text = format_cgroup(p);
    CHECK(contains(text, "cgroup:     v1 " + mem + "/kakuri-4242-777 (memory.limit_in_bytes "));
    CHECK(contains(text, "cgroup:     v1 " + pids + "/kakuri-4242-777 (pids.max 50)\n"));

    SUBCASE("unprivileged: v1 is root's, v2 has no controllers: refused") {
        h.real_root = false;
        CgroupPlace q = locate_cgroup(all_three(), h);
        CHECK(q.kind == CgroupKind::None);
        CHECK(contains(q.refusal, "has no memory, pids, cpu controllers"));
        CHECK(contains(q.refusal, "cgroup v1 is real root's alone"));
        CHECK(contains(q.refusal, "or run kakuri as root"));
    }
    SUBCASE("a mount that shows only part of the hierarchy") {
        CgroupHost inner = host_of(s, "4:memory:/process_api/d07\n",
                                   "31 25 0:27 /process_api /sys/fs/cgroup/memory rw - cgroup "
                                   "cgroup rw,memory\n");
        inner.real_root = true;
        Limits m;
        m.memory = 64ULL << 20;
        // /process_api/d07 seen through a mount of /process_api: memory/d07, which is missing
        CgroupPlace q = locate_cgroup(m, inner);
        CHECK(q.kind == CgroupKind::None);
        CHECK(contains(q.refusal, "no cgroup v1 memory hierarchy"));
    }
}

TEST_CASE("cgroup: nothing mounted: refused") {
    Scratch s("cgroup");
    CgroupPlace p = locate_cgroup(all_three(), host_of(s, "", ""));
    CHECK(p.kind == CgroupKind::None);
    CHECK(contains(p.refusal, "no cgroup v2 is mounted"));
}

TEST_CASE("cgroup: the leftovers of a kakuri that is gone are removed, nothing else") {
    Scratch s("cgroup");
    const std::string parent = s.mkdir("parent");
    const pid_t me = getpid();
    const std::string alive =
        "kakuri-" + std::to_string(me) + "-" + std::to_string(process_start_time(me));
    for (const std::string& n : {alive, std::string("kakuri-1-1"), std::string("kakuri-1-1-self"),
                                 std::string("kakuri-x-1"), std::string("kakuri-1-1-other"),
                                 std::string("other"), std::string("kakuri-2-3-self-x")})
        s.mkdir("parent/" + n);
    s.mkdir("parent/kakuri-3-4");
    s.file("parent/kakuri-3-4/held", 0644, "");  // not empty: rmdir fails, it stays
    remove_stale_cgroups({parent, s.dir + "/missing"});
    auto there = [&](const std::string& n) {
        return ::access((parent + "/" + n).c_str(), F_OK) == 0;
    };
    CHECK(there(alive));
    CHECK_FALSE(there("kakuri-1-1"));
    CHECK_FALSE(there("kakuri-1-1-self"));
    CHECK(there("kakuri-x-1"));
    CHECK(there("kakuri-1-1-other"));
    CHECK(there("other"));
    CHECK(there("kakuri-2-3-self-x"));
    CHECK(there("kakuri-3-4"));
}

TEST_CASE("cgroup: a place of kind None is refused by make, nothing made") {
    CgroupPlace p;
    p.refusal = "--memory 64M needs a cgroup";
    CHECK_THROWS_WITH_AS(Cgroup::make(p), "--memory 64M needs a cgroup", Error);
}

}  // namespace kakuri
