// Unit tests for plan: make_plan on hand-built ContainerSpecs, format_step and format_plan.
#include <doctest/doctest.h>
#include <sched.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "plan.hpp"
#include "strings.hpp"

namespace doctest {
template <>
struct StringMaker<kakuri::Step> {
    static String convert(const kakuri::Step& s) {
        return (kakuri::format_step(s) + (s.ro ? " [ro]" : "")).c_str();
    }
};
}  // namespace doctest

namespace kakuri {

namespace {

const size_t npos = static_cast<size_t>(-1);

// A rootless container on a merged-/usr host, home under /home, three binds.
ContainerSpec spec() {
    ContainerSpec s;
    s.identity.userns = true;
    s.identity.uid_map = {{0, 1000, 1}};
    s.identity.gid_map = {{0, 1001, 1}};
    s.policy.share_net = false;
    s.policy.hostname = "box";
    s.layout.system = {{"/usr", false, ""},
                       {"/bin", true, "usr/bin"},
                       {"/lib64", true, "usr/lib64"},
                       {"/etc", false, ""},
                       {"/var", false, ""}};
    s.layout.home = "/home/u";
    s.layout.binds = {{"/srv/data", "/srv/data", false},
                      {"/srv/ro", "/mnt", true},
                      {"/elsewhere", "/srv/data/x", false}};
    s.process.env = {"A=1", "PWD=/home/u"};
    s.process.cwd = "/home/u";
    s.process.argv = {"ls", "-la"};
    return s;
}

size_t index_of(const Plan& p, StepKind k, const std::string& target) {
    for (size_t i = 0; i < p.steps.size(); ++i)
        if (p.steps[i].kind == k && p.steps[i].target == target) return i;
    return npos;
}

size_t count_kind(const Plan& p, StepKind k) {
    return static_cast<size_t>(
        std::count_if(p.steps.begin(), p.steps.end(), [&](const Step& s) { return s.kind == k; }));
}

// The steps between the /home Mkdir and the /dev tmpfs: the home's own.
std::vector<Step> home_steps(const Plan& p) {
    size_t home = index_of(p, StepKind::Mkdir, "/home");
    size_t dev = index_of(p, StepKind::Tmpfs, "/dev");
    REQUIRE(home != npos);
    REQUIRE(dev != npos);
    REQUIRE(home < dev);
    std::vector<Step> out;
    for (size_t i = home + 1; i < dev; ++i)
        if (p.steps[i].kind != StepKind::File && p.steps[i].kind != StepKind::FileOver)
            out.push_back(p.steps[i]);
    return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("plan: the root first, system directories, the fresh dirs, then the home") {
    Plan p = make_plan(spec());
    REQUIRE(p.steps.size() > 11);
    CHECK(p.steps[0] == Step{StepKind::RootTmpfs, "/", "", 0755, false});
    CHECK(p.steps[1] == Step{StepKind::Overlay, "/usr", "/usr", 0, false});
    CHECK(p.steps[2] == Step{StepKind::Symlink, "/bin", "usr/bin", 0, false});
    CHECK(p.steps[3] == Step{StepKind::Symlink, "/lib64", "usr/lib64", 0, false});
    CHECK(p.steps[4] == Step{StepKind::Overlay, "/etc", "/etc", 0, false});
    CHECK(p.steps[5] == Step{StepKind::Overlay, "/var", "/var", 0, false});
    CHECK(p.steps[6] == Step{StepKind::Tmpfs, "/tmp", "", 01777, false});
    CHECK(p.steps[7] == Step{StepKind::Tmpfs, "/var/tmp", "", 01777, false});
    CHECK(p.steps[8] == Step{StepKind::Tmpfs, "/run", "", 0755, false});
    CHECK(p.steps[9] == Step{StepKind::Mkdir, "/home", "", 0755, false});
    CHECK(p.steps[10] == Step{StepKind::Mkdir, "/home/u", "", 0700, false});
    // What tells a program it runs in a container, and its hostname (files of its own).
    CHECK(format_step(p.steps[11]) ==
          "file       /run/.containerenv  (engine=\"kakuri-" KAKURI_VERSION
          "\" name=\"\" image=\"\" rootless=1)  mode 0444");
    CHECK(p.steps[11].text == "engine=\"kakuri-" KAKURI_VERSION
                              "\"\nname=\"\"\nimage=\"\"\nrootless=1\n");
    CHECK(p.steps[12].target == "/run/host/container-manager");
    CHECK(p.steps[12].text == "kakuri\n");
    CHECK(p.steps[13].kind == StepKind::FileOver);
    CHECK(p.steps[13].target == "/etc/hostname");
    CHECK(p.steps[13].text == "box\n");  // spec()'s hostname
    CHECK_FALSE(p.steps[13].append);
    CHECK(p.steps[14].target == "/etc/hosts");
    CHECK(p.steps[14].text == "127.0.1.1\tbox\n");
    CHECK(p.steps[14].append);
    CHECK(p.steps[15] == Step{StepKind::Tmpfs, "/dev", "", 0755, false});
}

TEST_CASE("plan: /run/.containerenv names a persistent container and its root filesystem") {
    ContainerSpec s = spec();
    s.layout.persist_dir = "/store/my \"box\"";
    s.layout.rootfs = "/srv/alpine";
    s.identity.userns = false;
    s.policy.hostname = "web";
    Plan p = make_plan(s);
    size_t env = index_of(p, StepKind::File, "/run/.containerenv");
    REQUIRE(env != npos);
    CHECK(p.steps[env].text == "engine=\"kakuri-" KAKURI_VERSION
                               "\"\nname=\"my \\\"box\\\"\"\nimage=\"/srv/alpine\"\nrootless=0\n");
    CHECK(p.steps[index_of(p, StepKind::FileOver, "/etc/hosts")].text == "127.0.1.1\tweb\n");
}

TEST_CASE("plan: exactly one root and one pivot, the pivot last") {
    Plan p = make_plan(spec());
    CHECK(count_kind(p, StepKind::RootTmpfs) == 1);
    CHECK(count_kind(p, StepKind::PivotRoot) == 1);
    CHECK(p.steps.back() == Step{StepKind::PivotRoot, "/", "", 0, false});
}

TEST_CASE("plan: system directories follow the spec's order and kind") {
    ContainerSpec s = spec();
    s.layout.system = {{"/usr", false, ""}, {"/sbin", true, "usr/sbin"}, {"/opt", false, ""}};
    Plan p = make_plan(s);
    CHECK(p.steps[1] == Step{StepKind::Overlay, "/usr", "/usr", 0, false});
    CHECK(p.steps[2] == Step{StepKind::Symlink, "/sbin", "usr/sbin", 0, false});
    CHECK(p.steps[3] == Step{StepKind::Overlay, "/opt", "/opt", 0, false});
    CHECK(p.steps[4] == Step{StepKind::Tmpfs, "/tmp", "", 01777, false});
    CHECK(count_kind(p, StepKind::Overlay) == 2);

    SUBCASE("none at all") {
        s.layout.system.clear();
        Plan q = make_plan(s);
        CHECK(q.steps[1] == Step{StepKind::Tmpfs, "/tmp", "", 01777, false});
        CHECK(count_kind(q, StepKind::Overlay) == 0);
    }
}

TEST_CASE("plan: a read-only system directory is a read-only bind, never an overlay") {
    // What make_spec decides for /usr in a user namespace (see "spec: unprivileged, /usr is a
    // read-only bind").
    ContainerSpec s = spec();
    s.layout.system = {{"/usr", false, "", true}, {"/bin", true, "usr/bin"}, {"/etc", false, ""}};
    Plan p = make_plan(s);
    CHECK(p.steps[1] == Step{StepKind::Bind, "/usr", "/usr", 0, true});
    CHECK(p.steps[2] == Step{StepKind::Symlink, "/bin", "usr/bin", 0, false});
    CHECK(p.steps[3] == Step{StepKind::Overlay, "/etc", "/etc", 0, false});
    CHECK(index_of(p, StepKind::Overlay, "/usr") == npos);
    CHECK(format_step(p.steps[1]) == "bind       /usr  (from /usr, ro)");
    SUBCASE("a persistent container keeps no upper layer for it") {
        s.layout.persist_dir = "/store/box";
        Plan q = make_plan(s);
        CHECK(q.steps[1] == Step{StepKind::Bind, "/usr", "/usr", 0, true});
        CHECK(q.steps[1].upper.empty());
        CHECK(q.steps[1].work.empty());
        CHECK(q.steps[3].upper == "/store/box/upper/etc");
    }
}

TEST_CASE("plan: a persistent container: its upper layers and its home on disk") {
    ContainerSpec s = spec();
    s.layout.persist_dir = "/store/box";
    Plan p = make_plan(s);
    // Every overlaid system directory: upper/NAME and work/NAME, side by side.
    for (const char* d : {"/usr", "/etc", "/var"}) {
        CAPTURE(d);
        size_t at = index_of(p, StepKind::Overlay, d);
        REQUIRE(at != npos);
        CHECK(p.steps[at].upper == std::string("/store/box/upper") + d);
        CHECK(p.steps[at].work == std::string("/store/box/work") + d);
    }
    // Links are links: nothing to keep.
    for (const auto& st : p.steps)
        if (st.kind == StepKind::Symlink) CHECK(st.upper.empty());
    // The home: made, then its directory of the container bound over it, before /dev.
    CHECK(home_steps(p) ==
          std::vector<Step>{{StepKind::Mkdir, "/home/u", "", 0700, false},
                            {StepKind::Bind, "/home/u", "/store/box/home", 0, false}});
    ContainerSpec homeless = s;
    homeless.layout.home = "";
    for (const auto& st : make_plan(homeless).steps) CHECK(st.source != "/store/box/home");
    // The fresh directories stay fresh.
    CHECK(p.steps[index_of(p, StepKind::Tmpfs, "/tmp")].upper.empty());
    SUBCASE("a temporary container keeps nothing on disk") {
        s.layout.persist_dir = "";
        Plan t = make_plan(s);
        for (const auto& st : t.steps) {
            CAPTURE(format_step(st));
            CHECK(st.upper.empty());
            CHECK(st.work.empty());
            CHECK(st.source.find("/store/box") == std::string::npos);
        }
    }
    SUBCASE("a root filesystem: its upper layer is upper/root; the home lies in it") {
        s.layout.rootfs = "/home/u/alpine";
        s.layout.system.clear();
        Plan r = make_plan(s);
        CHECK(r.steps[0].kind == StepKind::RootOverlay);
        CHECK(r.steps[0].upper == "/store/box/upper/root");
        CHECK(r.steps[0].work == "/store/box/work/root");
        CHECK(format_step(r.steps[0]) ==
              "root-overlay /  (lower /home/u/alpine, upper "
              "/store/box/upper/root)");
        CHECK(index_of(r, StepKind::Bind, "/home/u") == npos);
        CHECK(index_of(r, StepKind::Mkdir, "/home/u") != npos);
    }
}

TEST_CASE("plan: a persistent container's directories are the ones create makes (persist_dirs)") {
    ContainerSpec s = spec();
    s.layout.persist_dir = "/store/box";
    // What the plan uses of the container's directory: upper layers, work directories, the home.
    auto used = [](const Plan& p) {
        std::vector<std::string> out;
        auto take = [&](const std::string& path) {
            if (path.compare(0, 11, "/store/box/") == 0) out.push_back(path.substr(11));
        };
        for (const auto& st : p.steps) {
            take(st.upper);
            take(st.work);
            if (st.kind == StepKind::Bind) take(st.source);
        }
        std::sort(out.begin(), out.end());
        return out;
    };
    auto sorted = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    CHECK(used(make_plan(s)) == sorted(persist_dirs(s.layout)));
    CHECK(sorted(persist_dirs(s.layout)) ==
          std::vector<std::string>{"home", "upper/etc", "upper/usr", "upper/var", "work/etc",
                                   "work/usr", "work/var"});
    SUBCASE("a root filesystem: its layer; the home directory is made, the home lies in the tree") {
        s.layout.rootfs = "/home/u/alpine";
        s.layout.system.clear();
        CHECK(used(make_plan(s)) == std::vector<std::string>{"upper/root", "work/root"});
        CHECK(persist_dirs(s.layout) ==
              std::vector<std::string>{"home", "upper/root", "work/root"});
    }
}

TEST_CASE("plan: the container's own kernel file systems stand exactly at kKernelDirs") {
    for (bool rootfs : {false, true}) {
        CAPTURE(rootfs);
        ContainerSpec s = spec();
        if (rootfs) {
            s.layout.rootfs = "/srv/tree";
            s.layout.system.clear();
        }
        Plan p = make_plan(s);
        std::vector<std::string> mounted;
        for (const auto& st : p.steps)
            if (st.kind == StepKind::Proc || st.kind == StepKind::Sysfs ||
                (st.kind == StepKind::Tmpfs && st.target == "/dev"))
                mounted.push_back(st.target);
        std::sort(mounted.begin(), mounted.end());
        std::vector<std::string> table(std::begin(kKernelDirs), std::end(kKernelDirs));
        std::sort(table.begin(), table.end());
        CHECK(mounted == table);
    }
}

TEST_CASE("plan: the home") {
    ContainerSpec s = spec();
    SUBCASE("directly under /home: one private directory") {
        CHECK(home_steps(make_plan(s)) ==
              std::vector<Step>{{StepKind::Mkdir, "/home/u", "", 0700, false}});
    }
    SUBCASE("deeper under /home: the parents 0755, the home 0700") {
        s.layout.home = "/home/staff/u";
        CHECK(home_steps(make_plan(s)) ==
              std::vector<Step>{{StepKind::Mkdir, "/home/staff", "", 0755, false},
                                {StepKind::Mkdir, "/home/staff/u", "", 0700, false}});
    }
    SUBCASE("outside /home and the system directories: a Mkdir chain from /") {
        s.layout.home = "/srv/users/u";
        CHECK(home_steps(make_plan(s)) ==
              std::vector<Step>{{StepKind::Mkdir, "/srv", "", 0755, false},
                                {StepKind::Mkdir, "/srv/users", "", 0755, false},
                                {StepKind::Mkdir, "/srv/users/u", "", 0700, false}});
    }
    SUBCASE("a /home-like name is not /home") {
        s.layout.home = "/homes/u";
        CHECK(home_steps(make_plan(s)) ==
              std::vector<Step>{{StepKind::Mkdir, "/homes", "", 0755, false},
                                {StepKind::Mkdir, "/homes/u", "", 0700, false}});
    }
    SUBCASE("inside a system directory: a tmpfs") {
        s.layout.home = "/var/lib/pg";
        Plan p = make_plan(s);
        CHECK(home_steps(p) ==
              std::vector<Step>{{StepKind::Tmpfs, "/var/lib/pg", "", 0700, false}});
        CHECK(index_of(p, StepKind::Mkdir, "/var/lib") == npos);
        CHECK(index_of(p, StepKind::Mkdir, "/var/lib/pg") == npos);
    }
    SUBCASE("under a name that only starts like a system directory: a Mkdir chain") {
        s.layout.home = "/variable/u";
        CHECK(home_steps(make_plan(s)) ==
              std::vector<Step>{{StepKind::Mkdir, "/variable", "", 0755, false},
                                {StepKind::Mkdir, "/variable/u", "", 0700, false}});
    }
    SUBCASE("no home: nothing") {
        s.layout.home = "";
        CHECK(home_steps(make_plan(s)).empty());
    }
    SUBCASE("/home is made once") {
        s.layout.home = "/home/a/b";
        Plan p = make_plan(s);
        CHECK(std::count(p.steps.begin(), p.steps.end(),
                         Step{StepKind::Mkdir, "/home", "", 0755, false}) == 1);
    }
}

TEST_CASE("plan: /dev, /proc and /sys") {
    Plan p = make_plan(spec());
    size_t dev = index_of(p, StepKind::Tmpfs, "/dev");
    REQUIRE(dev != npos);
    CHECK(dev > index_of(p, StepKind::Mkdir, "/home/u"));

    CHECK(count_kind(p, StepKind::DevNode) == 6);
    for (const char* n : {"null", "zero", "full", "random", "urandom", "tty"}) {
        std::string path = std::string("/dev/") + n;
        CAPTURE(path);
        size_t i = index_of(p, StepKind::DevNode, path);
        REQUIRE(i != npos);
        CHECK(i > dev);
        CHECK(p.steps[i].source == path);  // the host's own node
        CHECK_FALSE(p.steps[i].ro);
    }
    for (size_t i = 0; i < dev; ++i) CHECK(p.steps[i].kind != StepKind::DevNode);

    size_t pts_dir = index_of(p, StepKind::Mkdir, "/dev/pts");
    size_t devpts = index_of(p, StepKind::Devpts, "/dev/pts");
    size_t ptmx = index_of(p, StepKind::Symlink, "/dev/ptmx");
    REQUIRE(devpts != npos);
    REQUIRE(pts_dir != npos);
    REQUIRE(ptmx != npos);
    CHECK(dev < pts_dir);
    CHECK(pts_dir < devpts);
    CHECK(p.steps[ptmx].source == "pts/ptmx");
    CHECK(count_kind(p, StepKind::Devpts) == 1);

    size_t shm = index_of(p, StepKind::Tmpfs, "/dev/shm");
    REQUIRE(shm != npos);
    CHECK(shm > dev);
    CHECK(p.steps[shm].mode == 01777);

    size_t fd = index_of(p, StepKind::Symlink, "/dev/fd");
    REQUIRE(fd != npos);
    CHECK(p.steps[fd].source == "/proc/self/fd");
    size_t in = index_of(p, StepKind::Symlink, "/dev/stdin");
    REQUIRE(in != npos);
    CHECK(p.steps[in].source == "/proc/self/fd/0");

    size_t proc = index_of(p, StepKind::Proc, "/proc");
    size_t sys = index_of(p, StepKind::Sysfs, "/sys");
    REQUIRE(proc != npos);
    REQUIRE(sys != npos);
    CHECK(count_kind(p, StepKind::Proc) == 1);
    CHECK(count_kind(p, StepKind::Sysfs) == 1);
    // /proc comes after everything of /dev, /sys after /proc.
    CHECK(proc > shm);
    CHECK(proc > devpts);
    CHECK(proc > ptmx);
    CHECK(sys > proc);
    // Its own network namespace: a new sysfs (no source); the host's network: the host's /sys.
    CHECK(p.steps[sys] == Step{StepKind::Sysfs, "/sys", "", 0, true});
    ContainerSpec host = spec();
    host.policy.share_net = true;
    Plan q = make_plan(host);
    size_t qsys = index_of(q, StepKind::Sysfs, "/sys");
    REQUIRE(qsys != npos);
    CHECK(q.steps[qsys] == Step{StepKind::Sysfs, "/sys", "/sys", 0, true});
}

TEST_CASE("plan: binds last, in the order given, with their ro flags") {
    Plan p = make_plan(spec());
    size_t sys = index_of(p, StepKind::Sysfs, "/sys");
    REQUIRE(sys != npos);
    REQUIRE(p.steps.size() == sys + 5);
    CHECK(p.steps[sys + 1] == Step{StepKind::Bind, "/srv/data", "/srv/data", 0, false});
    CHECK(p.steps[sys + 2] == Step{StepKind::Bind, "/mnt", "/srv/ro", 0, true});
    // The later bind, inside the earlier one, comes after it.
    CHECK(p.steps[sys + 3] == Step{StepKind::Bind, "/srv/data/x", "/elsewhere", 0, false});
    CHECK(p.steps[sys + 4].kind == StepKind::PivotRoot);
    CHECK(count_kind(p, StepKind::Bind) == 3);

    SUBCASE("reversed order stays reversed") {
        ContainerSpec s = spec();
        std::reverse(s.layout.binds.begin(), s.layout.binds.end());
        Plan q = make_plan(s);
        size_t a = index_of(q, StepKind::Bind, "/srv/data/x");
        size_t b = index_of(q, StepKind::Bind, "/srv/data");
        REQUIRE(a != npos);
        REQUIRE(b != npos);
        CHECK(a < b);
    }
    SUBCASE("a bind over the home comes after the home is made") {
        ContainerSpec s = spec();
        s.layout.binds = {{"/home/u/proj", "/home/u/proj", false}};
        Plan q = make_plan(s);
        size_t bind = index_of(q, StepKind::Bind, "/home/u/proj");
        REQUIRE(bind != npos);
        CHECK(bind > index_of(q, StepKind::Mkdir, "/home/u"));
        CHECK(bind == q.steps.size() - 2);
    }
    SUBCASE("no binds") {
        ContainerSpec s = spec();
        s.layout.binds.clear();
        Plan q = make_plan(s);
        CHECK(count_kind(q, StepKind::Bind) == 0);
        CHECK(q.steps[q.steps.size() - 2].kind == StepKind::Sysfs);
    }
}

TEST_CASE("plan: clone flags and loopback") {
    const unsigned long always =
        CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    ContainerSpec s = spec();

    SUBCASE("rootless, private network") {
        Plan p = make_plan(s);
        CHECK((p.clone_flags & always) == always);
        CHECK((p.clone_flags & CLONE_NEWUSER) != 0);
        CHECK((p.clone_flags & CLONE_NEWNET) != 0);
        CHECK(p.clone_flags == (always | CLONE_NEWUSER | CLONE_NEWNET));
        CHECK(p.loopback);
        CHECK(p.identity.userns);
    }
    SUBCASE("rootless, host network") {
        s.policy.share_net = true;
        Plan p = make_plan(s);
        CHECK((p.clone_flags & CLONE_NEWUSER) != 0);
        CHECK((p.clone_flags & CLONE_NEWNET) == 0);
        CHECK(p.clone_flags == (always | CLONE_NEWUSER));
        CHECK_FALSE(p.loopback);
    }
    SUBCASE("real root, private network") {
        s.identity.userns = false;
        s.identity.uid_map.clear();
        s.identity.gid_map.clear();
        Plan p = make_plan(s);
        CHECK((p.clone_flags & CLONE_NEWUSER) == 0);
        CHECK((p.clone_flags & CLONE_NEWNET) != 0);
        CHECK(p.clone_flags == (always | CLONE_NEWNET));
        CHECK(p.loopback);
        CHECK_FALSE(p.identity.userns);
    }
    SUBCASE("real root, host network") {
        s.identity.userns = false;
        s.policy.share_net = true;
        Plan p = make_plan(s);
        CHECK(p.clone_flags == always);
        CHECK_FALSE(p.loopback);
    }
}

TEST_CASE("plan: the rest of the spec is carried over") {
    Plan p = make_plan(spec());
    CHECK(p.policy.hostname == "box");
    CHECK(p.process.cwd == "/home/u");
    CHECK(p.process.env == std::vector<std::string>{"A=1", "PWD=/home/u"});
    CHECK(p.process.argv == std::vector<std::string>{"ls", "-la"});
    CHECK(p.identity.uid_map == std::vector<IdMapLine>{{0, 1000, 1}});
    CHECK(p.identity.gid_map == std::vector<IdMapLine>{{0, 1001, 1}});
}

TEST_CASE("plan: a root filesystem is the root; the fresh dirs and the home go inside it") {
    ContainerSpec s = spec();
    s.layout.rootfs = "/home/u/alpine";
    s.layout.system.clear();
    Plan p = make_plan(s);
    REQUIRE(p.steps.size() > 6);
    CHECK(p.steps[0] == Step{StepKind::RootOverlay, "/", "/home/u/alpine", 0, false});
    CHECK(p.steps[1] == Step{StepKind::Tmpfs, "/tmp", "", 01777, false});
    CHECK(p.steps[2] == Step{StepKind::Tmpfs, "/run", "", 0755, false});
    // The home made where missing (in the tree's upper layer), never a tmpfs over the tree's.
    CHECK(p.steps[3] == Step{StepKind::Mkdir, "/home", "", 0755, false});
    CHECK(p.steps[4] == Step{StepKind::Mkdir, "/home/u", "", 0700, false});
    CHECK(p.steps[5].target == "/run/.containerenv");  // then the markers, 5 to 8
    CHECK(p.steps[9] == Step{StepKind::Tmpfs, "/dev", "", 0755, false});
    CHECK(count_kind(p, StepKind::RootTmpfs) == 0);
    CHECK(count_kind(p, StepKind::RootOverlay) == 1);
    CHECK(count_kind(p, StepKind::Overlay) == 0);
    CHECK(index_of(p, StepKind::Tmpfs, "/var/tmp") == npos);
    // Then what every container has: /proc, /sys, the binds, the pivot.
    size_t proc = index_of(p, StepKind::Proc, "/proc");
    size_t sys = index_of(p, StepKind::Sysfs, "/sys");
    REQUIRE(proc != npos);
    REQUIRE(sys != npos);
    CHECK(proc < sys);
    CHECK(p.steps[sys + 1] == Step{StepKind::Bind, "/srv/data", "/srv/data", 0, false});
    CHECK(p.steps.back().kind == StepKind::PivotRoot);

    SUBCASE("a home under /tmp comes after the /tmp tmpfs") {
        s.layout.home = "/tmp/t/home";
        Plan q = make_plan(s);
        CHECK(q.steps[3] == Step{StepKind::Mkdir, "/tmp", "", 0755, false});
        CHECK(q.steps[5] == Step{StepKind::Mkdir, "/tmp/t/home", "", 0700, false});
    }
    SUBCASE("real root: /proc's host-wide files are masked as in host mode") {
        s.identity.userns = false;
        Plan q = make_plan(s);
        for (const char* f : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/timer_stats",
                              "/proc/sched_debug", "/proc/sysrq-trigger", "/proc/latency_stats",
                              "/proc/kmsg", "/proc/slabinfo"})
            CHECK_MESSAGE(index_of(q, StepKind::MaskFile, f) != npos, f);
        // Firmware tables and power counters under /sys, after /sys is mounted.
        size_t qsys = index_of(q, StepKind::Sysfs, "/sys");
        for (const char* d : {"/sys/firmware", "/sys/devices/virtual/powercap"}) {
            size_t at = index_of(q, StepKind::MaskDir, d);
            CHECK_MESSAGE((at != npos && at > qsys), d);
        }
        // In a user namespace, host root owns them: nothing to mask.
        CHECK(index_of(p, StepKind::MaskDir, "/sys/firmware") == npos);
    }
}

TEST_CASE("plan: who writes the id maps is carried over") {
    ContainerSpec s = spec();
    s.identity.map_writer = MapWriter::Helpers;
    s.identity.newuidmap = "/usr/bin/newuidmap";
    s.identity.newgidmap = "/usr/bin/newgidmap";
    s.identity.uid = 1000;
    s.identity.gid = 1001;
    Plan p = make_plan(s);
    CHECK(p.identity.map_writer == MapWriter::Helpers);
    CHECK(p.identity.newuidmap == "/usr/bin/newuidmap");
    CHECK(p.identity.newgidmap == "/usr/bin/newgidmap");
    CHECK(p.identity.uid == 1000);
    CHECK(p.identity.gid == 1001);
    CHECK(contains(format_plan(p), "maps by:    /usr/bin/newuidmap, /usr/bin/newgidmap\n"));
    s.identity.map_writer = MapWriter::Parent;
    CHECK(contains(format_plan(make_plan(s)), "maps by:    kakuri (real root)\n"));
    s.identity.map_writer = MapWriter::Self;
    CHECK_FALSE(contains(format_plan(make_plan(s)), "maps by:"));
}

TEST_CASE("plan: format_step") {
    CHECK(format_step({StepKind::RootTmpfs, "/", "", 0755, false}) == "root-tmpfs /  mode 0755");
    CHECK(format_step({StepKind::Overlay, "/usr", "/usr", 0, false}) ==
          "overlay    /usr  (lower /usr, upper in memory)");
    CHECK(format_step({StepKind::Symlink, "/bin", "usr/bin", 0, false}) ==
          "symlink    /bin -> usr/bin");
    CHECK(format_step({StepKind::Tmpfs, "/tmp", "", 01777, false}) ==
          "tmpfs      /tmp  mode 01777");
    CHECK(format_step({StepKind::Mkdir, "/home/u", "", 0700, false}) ==
          "mkdir      /home/u  mode 0700");
    CHECK(format_step({StepKind::DevNode, "/dev/null", "/dev/null", 0, false}) ==
          "dev-node   /dev/null  (from /dev/null)");
    CHECK(format_step({StepKind::Devpts, "/dev/pts", "", 0, false}) == "devpts     /dev/pts");
    CHECK(format_step({StepKind::Proc, "/proc", "", 0, false}) == "proc       /proc");
    CHECK(format_step({StepKind::Sysfs, "/sys", "/sys", 0, true}) ==
          "sysfs      /sys  (from /sys, ro)");
    CHECK(format_step({StepKind::Bind, "/mnt", "/srv/ro", 0, true}) ==
          "bind       /mnt  (from /srv/ro, ro)");
    CHECK(format_step({StepKind::Bind, "/a", "/b", 0, false}) == "bind       /a  (from /b, rw)");
    CHECK(format_step({StepKind::PivotRoot, "/", "", 0, false}) == "pivot-root /");
    CHECK(format_step({StepKind::RootOverlay, "/", "/srv/alpine", 0, false}) ==
          "root-overlay /  (lower /srv/alpine, upper in memory)");
    // A persistent container's upper layer on disk.
    Step on_disk{StepKind::Overlay, "/usr", "/usr", 0, false};
    on_disk.upper = "/c/upper/usr";
    on_disk.work = "/c/work/usr";
    CHECK(format_step(on_disk) == "overlay    /usr  (lower /usr, upper /c/upper/usr)");
    CHECK_FALSE(on_disk == Step{StepKind::Overlay, "/usr", "/usr", 0, false});
}

TEST_CASE("plan: format_plan") {
    SUBCASE("rootless") {
        std::string text = format_plan(make_plan(spec()));
        CAPTURE(text);
        CHECK(contains(text, "namespaces: user mount pid net uts ipc cgroup\n"));
        CHECK(contains(text, "uid map:    0->1000 (1)\n"));
        CHECK(contains(text, "gid map:    0->1001 (1)\n"));
        CHECK_FALSE(contains(text, "real root"));
        CHECK(contains(text, "network:    private (lo only)\n"));
        CHECK(contains(text, "hostname:   box\n"));
        CHECK(contains(text, "\nbind       /mnt  (from /srv/ro, ro)\n"));
        CHECK(contains(text, "\nbind       /srv/data  (from /srv/data, rw)\n"));
        CHECK(contains(text, "workdir:    /home/u\n"));
        CHECK(contains(text, "command:    ls -la\n"));
        // Every step is listed, in order.
        Plan p = make_plan(spec());
        size_t pos = 0;
        for (const auto& st : p.steps) {
            std::string line = "\n" + format_step(st) + "\n";
            CAPTURE(line);
            size_t at = text.find(line, pos);
            REQUIRE(at != std::string::npos);
            pos = at + 1;
        }
    }
    SUBCASE("limits: a line, and the container's own cgroups at /sys/fs/cgroup") {
        ContainerSpec s = spec();
        Plan none = make_plan(s);
        CHECK(index_of(none, StepKind::CgroupFs, "/sys/fs/cgroup") == npos);
        CHECK_FALSE(contains(format_plan(none), "limits:"));
        s.policy.limits.memory = 256ULL << 20;
        s.policy.limits.pids = 50;
        s.policy.limits.cpu_millis = 500;
        Plan p = make_plan(s);
        const size_t at = index_of(p, StepKind::CgroupFs, "/sys/fs/cgroup");
        REQUIRE(at != npos);
        CHECK(at > index_of(p, StepKind::Sysfs, "/sys"));
        CHECK(p.steps[at].ro);
        CHECK(contains(format_plan(p),
                       "\nlimits:     memory 256M pids 50 cpus 0.5 (a cgroup of its "
                       "own below kakuri's)\n"));
        CHECK(contains(format_plan(p), "\ncgroupfs   /sys/fs/cgroup  mode 0755\n"));
        // The in-memory budget is its own: the spec decides it (from --memory by default).
        CHECK(contains(format_plan(p), "\nin memory:  half of RAM"));
    }
    SUBCASE("the in-memory budget") {
        ContainerSpec s = spec();
        CHECK(contains(format_plan(make_plan(s)), "\nin memory:  half of RAM shared by every"));
        s.policy.limits.tmpfs_size = 32ULL << 20;
        const Plan p = make_plan(s);
        CHECK(p.policy.limits.tmpfs_size == 32ULL << 20);
        CHECK(contains(format_plan(p),
                       "\nin memory:  32M shared by every writable layer kept in memory"));
    }
    SUBCASE("several id map lines") {
        ContainerSpec s = spec();
        s.identity.uid_map = {{0, 1000, 1}, {1, 100000, 65536}};
        std::string text = format_plan(make_plan(s));
        CHECK(contains(text, "uid map:    0->1000 (1), 1->100000 (65536)\n"));
    }
    SUBCASE("real root, host network") {
        ContainerSpec s = spec();
        s.identity.userns = false;
        s.identity.uid_map.clear();
        s.identity.gid_map.clear();
        s.policy.share_net = true;
        std::string text = format_plan(make_plan(s));
        CAPTURE(text);
        CHECK(contains(text, "namespaces: mount pid uts ipc cgroup\n"));
        CHECK(contains(text, "identity:   real root, no user namespace\n"));
        CHECK_FALSE(contains(text, "uid map:"));
        CHECK_FALSE(contains(text, "gid map:"));
        CHECK(contains(text, "network:    host\n"));
    }
    SUBCASE("the filter: what this build has, never more") {
        ContainerSpec s = spec();
        Plan p = make_plan(s);
        CHECK(contains(format_plan(p, true), "\nseccomp:    default filter\n"));
        // A build without it (-Dseccomp=disabled) says so instead of promising one.
        const std::string none = format_plan(p, false);
        CHECK(contains(none, std::string("\nseccomp:    none: ") + kNoFilterNote + "\n"));
        CHECK_FALSE(contains(none, "default filter"));
        CHECK(contains(format_plan(p), seccomp_available() ? "default filter" : kNoFilterNote));
        s.policy.seccomp = false;
        p = make_plan(s);
        CHECK(contains(format_plan(p, true), "\nseccomp:    off\n"));
        CHECK(contains(format_plan(p, false), "\nseccomp:    off\n"));
    }
    SUBCASE("command words are quoted for the shell") {
        ContainerSpec s = spec();
        s.process.argv = {"sh", "-c", "echo $HOME", "it's", ""};
        std::string text = format_plan(make_plan(s));
        CHECK(contains(text, "command:    sh -c 'echo $HOME' 'it'\\''s' ''\n"));
    }
}

// ---- links made inside, kakuri's own state -------------------------------------------------

namespace {

// The steps after the binds and before the pivot.
std::vector<std::string> after_binds(const Plan& p) {
    std::vector<std::string> out;
    size_t i = index_of(p, StepKind::Sysfs, "/sys") + 1;
    while (i < p.steps.size() && p.steps[i].kind == StepKind::Bind) ++i;
    for (; i + 1 < p.steps.size(); ++i)
        out.push_back(format_step(p.steps[i]) + (p.steps[i].ro ? " [ro]" : ""));
    return out;
}

const HiddenPath kStore{"/home/u/.local/kakuri/containers", true, 0700, "containers_dir"};
const HiddenPath kConfigDir{"/home/u/.config/container", true, 0755, "config directory"};

}  // namespace

TEST_CASE("plan: the links of automatic mounts, after the binds") {
    ContainerSpec s = spec();
    s.layout.links = {{"/home/u/proj/latest", "/home/u/proj/v2"}};
    Plan p = make_plan(s);
    CHECK(after_binds(p) == std::vector<std::string>{"symlink    /home/u/proj/latest -> "
                                                     "/home/u/proj/v2"});
}

TEST_CASE("plan: the fresh directories come from fresh_dirs") {
    ContainerSpec s = spec();
    for (bool rootfs : {false, true}) {
        CAPTURE(rootfs);
        if (rootfs) {
            s.layout.rootfs = "/srv/tree";
            s.layout.system.clear();
        }
        Plan p = make_plan(s);
        for (const auto& f : fresh_dirs(rootfs))
            CHECK(index_of(p, StepKind::Tmpfs, f.path) != npos);
        CHECK(count_kind(p, StepKind::Tmpfs) == fresh_dirs(rootfs).size() + 1);  // and /dev
    }
}

TEST_CASE("plan: kakuri's own state, wherever a bind shows it") {
    ContainerSpec s = spec();
    s.layout.binds.clear();
    s.layout.hidden = {kStore, kConfigDir};
    SUBCASE("nothing shows it: nothing to do") {
        CHECK(after_binds(make_plan(s)).empty());
    }
    SUBCASE("--bind ~/.local: the directory between pinned, then the mask") {
        s.layout.binds = {{"/home/u/.local", "/home/u/.local", false}};
        CHECK(after_binds(make_plan(s)) ==
              std::vector<std::string>{"pin        /home/u/.local/kakuri  mode 0700  (kakuri's own "
                                       "state, made if missing)",
                                       "mask-dir   /home/u/.local/kakuri/containers  mode 0700  "
                                       "(kakuri's own state, made if missing) "
                                       "[ro]"});
    }
    SUBCASE("--bind ~:/mnt/h and the dev profile: every place, outer pins first") {
        s.layout.binds = {{"/home/u", "/mnt/h", false},
                          {"/home/u/.config", "/home/u/.config", false},
                          {"/home/u/.local", "/home/u/.local", true}};
        CHECK(
            after_binds(make_plan(s)) ==
            std::vector<std::string>{
                "pin        /mnt/h/.local  mode 0700  (kakuri's own state, made if missing)",
                "pin        /mnt/h/.config  mode 0755  (kakuri's own state, made if missing)",
                "pin        /mnt/h/.local/kakuri  mode 0700  (kakuri's own state, made if missing)",
                "pin        /home/u/.local/kakuri  mode 0700  (kakuri's own state, made if "
                "missing)",
                "mask-dir   /mnt/h/.local/kakuri/containers  mode 0700  (kakuri's own state, made "
                "if missing) [ro]",
                "mask-dir   /home/u/.local/kakuri/containers  mode 0700  (kakuri's own state, made "
                "if missing) [ro]",
                "mask-dir   /mnt/h/.config/container  mode 0755  (kakuri's own state, made if "
                "missing) [ro]",
                "mask-dir   /home/u/.config/container  mode 0755  (kakuri's own state, made if "
                "missing) [ro]"});
    }
    SUBCASE("--bind /:/host") {
        s.layout.binds = {{"/", "/host", false}};
        std::vector<std::string> got = after_binds(make_plan(s));
        CHECK(got.front() ==
              "pin        /host/home  mode 0700  (kakuri's own state, made if missing)");
        CHECK(got.back() ==
              "mask-dir   /host/home/u/.config/container  mode 0755  (kakuri's own "
              "state, made if missing) [ro]");
    }
    SUBCASE("/etc/kakuri is never made: whoever may make it is host root already") {
        s.layout.hidden = {{"/etc/kakuri", true, 0755, "config directory", false}};
        s.layout.binds = {{"/", "/host", false}};
        CHECK(after_binds(make_plan(s)) ==
              std::vector<std::string>{
                  "pin        /host/etc  mode 0755  (kakuri's own state)",
                  "mask-dir   /etc/kakuri  mode 0755 [ro]",
                  "mask-dir   /host/etc/kakuri  mode 0755  (kakuri's own state) [ro]"});
    }
    SUBCASE("a place a later bind covers shows that bind: nothing there") {
        s.layout.binds = {{"/home/u/.local", "/home/u/.local", false},
                          {"/srv/other", "/home/u/.local/kakuri", false}};
        CHECK(after_binds(make_plan(s)).empty());
    }
    SUBCASE("a config file named by --config: /dev/null over it, read-only") {
        s.layout.hidden = {{"/home/u/proj/k.toml", false, 0, "config file"}};
        s.layout.binds = {{"/home/u", "/home/u", false}};
        CHECK(
            after_binds(make_plan(s)) ==
            std::vector<std::string>{
                "pin        /home/u/proj  mode 0755  (kakuri's own state, made if missing)",
                "mask       /home/u/proj/k.toml  (from /dev/null, ro)  (kakuri's own state) [ro]"});
    }
}

TEST_CASE("plan: kakuri's own state in a system directory or a root filesystem: masked only") {
    ContainerSpec s = spec();
    s.layout.binds.clear();
    s.layout.hidden = {{"/etc/kakuri", true, 0755, "config directory"},
                       {"/var/lib/kakuri", true, 0700, "containers_dir"},
                       {"/var/tmp/k", true, 0700, "containers_dir"}};
    // Overlays: nothing written there reaches the host, so no pins and nothing made.
    CHECK(after_binds(make_plan(s)) ==
          std::vector<std::string>{"mask-dir   /etc/kakuri  mode 0755 [ro]",
                                   "mask-dir   /var/lib/kakuri  mode 0700 [ro]"});
    s.layout.rootfs = "/var/lib";
    s.layout.system.clear();
    CHECK(after_binds(make_plan(s)) ==
          std::vector<std::string>{"mask-dir   /kakuri  mode 0700 [ro]"});
}

TEST_CASE("plan: format_step of a pin") {
    Step pin{StepKind::Pin, "/home/u/.local", "", 0700, false};
    pin.own_state = true;
    CHECK(format_step(pin) == "pin        /home/u/.local  mode 0700  (kakuri's own state)");
    pin.make = true;
    CHECK(format_step(pin) ==
          "pin        /home/u/.local  mode 0700  (kakuri's own state, made if missing)");
    CHECK_FALSE(pin == Step{StepKind::Pin, "/home/u/.local", "", 0700, false});
}

}  // namespace kakuri

namespace kakuri {

using Strings = std::vector<std::string>;

TEST_CASE("plan: a private network's pasta forwards the published ports and nothing else") {
    PrivateNet net;
    net.on = true;
    net.publish = {parse_publish("8080:80"), parse_publish("0.0.0.0:5300-5301:53-54/udp")};
    const Strings want = {"--config-net",
                          "--quiet",
                          "--foreground",
                          "--pid",
                          "/proc/self/fd/4",
                          "--netns",
                          "/proc/self/fd/3",
                          "--netns-only",
                          "--no-netns-quit",
                          "-t",
                          "127.0.0.1/8080:80",
                          "-u",
                          "0.0.0.0/5300:53",
                          "-u",
                          "0.0.0.0/5301:54",
                          "-T",
                          "none",
                          "-U",
                          "none",
                          "--no-map-gw",
                          "--dns-forward",
                          "169.254.1.1",
                          "--dns-forward",
                          "fd6b:616b:7572:6900::53"};
    CHECK(pasta_arguments(net, "/proc/self/fd/3", "/proc/self/fd/4") == want);
}

TEST_CASE(
    "plan: without published ports pasta forwards none, and the host's loopback only "
    "with host_loopback") {
    PrivateNet net;
    net.on = true;
    Strings a = pasta_arguments(net, "/n", "/p");
    auto has = [&](const Strings& v, const Strings& seq) {
        return std::search(v.begin(), v.end(), seq.begin(), seq.end()) != v.end();
    };
    // pasta's default "auto" would forward every port bound on either side.
    CHECK(has(a, {"-t", "none"}));
    CHECK(has(a, {"-u", "none"}));
    CHECK(has(a, {"-T", "none"}));
    CHECK(has(a, {"-U", "none"}));
    CHECK(has(a, {"--no-map-gw"}));
    net.host_loopback = true;
    a = pasta_arguments(net, "/n", "/p");
    CHECK_FALSE(has(a, {"--no-map-gw"}));
    CHECK(has(a, {"-T", "none"}));  // the container's own 127.0.0.1 stays its own
}

TEST_CASE("plan: a private network's resolv.conf names pasta's DNS address, over the root's") {
    ContainerSpec s = spec();
    auto resolv = [](const Plan& p) {
        return std::find_if(p.steps.begin(), p.steps.end(),
                            [](const Step& st) { return st.target == "/etc/resolv.conf"; });
    };
    Plan p = make_plan(s);
    CHECK(resolv(p) == p.steps.end());  // lo only: the root's file, untouched
    s.policy.net.on = true;
    s.policy.net.publish = {parse_publish("8080:80")};
    p = make_plan(s);
    REQUIRE(resolv(p) != p.steps.end());
    CHECK(resolv(p)->kind == StepKind::FileOver);
    CHECK(resolv(p)->text == "nameserver 169.254.1.1\n");
    CHECK_FALSE(resolv(p)->append);
    CHECK((p.clone_flags & CLONE_NEWNET) != 0);
    const std::string text = format_plan(p, true);
    CHECK(text.find("network:    private (pasta, DNS to the host's) 127.0.0.1:8080:80/tcp\n") !=
          npos);
    s.policy.net.host_loopback = true;
    s.policy.net.dns = "192.0.2.53";
    CHECK(format_plan(make_plan(s), true)
              .find("private (pasta, the host's loopback at the gateway's address, DNS to "
                    "192.0.2.53)") != npos);
    // Each forward address choose_dns_forwards picked, IPv4's first.
    s.policy.net.dns6 = true;
    CHECK(resolv(make_plan(s))->text ==
          "nameserver 169.254.1.1\nnameserver fd6b:616b:7572:6900::53\n");
    s.policy.net.dns4 = false;
    CHECK(resolv(make_plan(s))->text == "nameserver fd6b:616b:7572:6900::53\n");
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE("plan: an --overlay goes over every bind, a bind inside it over it again") {
    ContainerSpec s = spec();
    Bind cow{"/home/u/proj", "/home/u/proj", false};
    cow.overlay = true;
    cow.layer = "/home/u/.local/kakuri/changes/7";
    s.layout.binds = {cow,
                      {"/home/u", "/home/u", false},  // the working directory's, automatic
                      {"/home/u/out", "/home/u/proj/out", false}};
    Plan p = make_plan(s);
    const size_t outer = index_of(p, StepKind::Bind, "/home/u");
    const size_t overlay = index_of(p, StepKind::Overlay, "/home/u/proj");
    REQUIRE(outer != npos);
    REQUIRE(overlay != npos);
    CHECK(outer < overlay);  // never hidden by a bind of a directory above it
    const Step& o = p.steps[overlay];
    CHECK(o.cow);
    CHECK(o.source == "/home/u/proj");
    CHECK(o.upper == "/home/u/.local/kakuri/changes/7/upper");
    CHECK(o.work == "/home/u/.local/kakuri/changes/7/work");
    // The bind inside the overlay: before it (in order) and again after it, so it shows.
    size_t last_inner = npos;
    for (size_t i = 0; i < p.steps.size(); ++i)
        if (p.steps[i].kind == StepKind::Bind && p.steps[i].target == "/home/u/proj/out")
            last_inner = i;
    REQUIRE(last_inner != npos);
    CHECK(last_inner > overlay);
    CHECK(contains(format_step(o), "upper /home/u/.local/kakuri/changes/7/upper"));
    cow.layer.clear();  // --dry-run: no change set made
    s.layout.binds = {cow};
    Plan dry = make_plan(s);
    CHECK(contains(format_step(dry.steps[index_of(dry, StepKind::Overlay, "/home/u/proj")]),
                   "a new change set"));
}

TEST_CASE("plan: kakuri's own state below an --overlay is masked, never pinned or made") {
    ContainerSpec s = spec();
    Bind cow{"/home/u", "/home/u", false};
    cow.overlay = true;
    s.layout.binds = {cow};
    s.layout.hidden = {{"/home/u/.local/kakuri/changes", true, 0700, "changes_dir", true}};
    Plan p = make_plan(s);
    const size_t m = index_of(p, StepKind::MaskDir, "/home/u/.local/kakuri/changes");
    REQUIRE(m != npos);
    CHECK(m > index_of(p, StepKind::Overlay, "/home/u"));
    CHECK_FALSE(p.steps[m].make);
    CHECK(count_kind(p, StepKind::Pin) == 0);
}

TEST_CASE("plan: the status comes back before the teardown only when nothing ends with it") {
    ContainerSpec s = spec();
    const std::string early =
        "returns:    as soon as init tells the command's status (the namespaces' teardown "
        "finishes on its own)\n";
    Plan p = make_plan(s);
    CHECK_FALSE(p.await_teardown);
    CHECK(format_plan(p, true).find(early) != npos);
    s.policy.net.on = true;
    s.policy.limits.pids = 10;
    p = make_plan(s);
    CHECK(p.await_teardown);
    CHECK(format_plan(p, true).find("returns:    once the container is gone (pasta ended, its "
                                    "ports free, the cgroup removed)\n") != npos);
    s = spec();
    s.layout.persist_dir = "/home/u/.local/share/kakuri/containers/box";
    p = make_plan(s);
    CHECK(p.await_teardown);
    CHECK(format_plan(p, true).find("returns:    once the container is gone (no process left to "
                                    "write an upper layer on disk)\n") != npos);
}

}  // namespace kakuri
