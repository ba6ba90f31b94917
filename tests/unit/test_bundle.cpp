// Unit tests for bundle: bundle_config on hand-built ContainerSpecs, read back as JSON.
#include <doctest/doctest.h>
#include <errno.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bundle.hpp"
#include "capnames.hpp"
#include "seccomp.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

using Json = nlohmann::json;

// A rootless container on a --rootfs tree: its own network, a rw and a ro bind, two limits.
ContainerSpec spec() {
    ContainerSpec s;
    s.identity.userns = true;
    s.identity.uid_map = {{0, 1000, 1}, {1, 100000, 65536}};
    s.identity.gid_map = {{0, 1001, 1}};
    s.policy.hostname = "box";
    s.policy.caps = default_caps();
    s.layout.rootfs = "/srv/trees/alpine";
    s.layout.home = "/home/u";
    s.layout.binds = {{"/srv/data", "/data", false}, {"/srv/ro", "/mnt/ro", true}};
    s.process.argv = {"/bin/sh", "-c", "echo hi"};
    s.process.env = {"container=kakuri", "PATH=/bin", "HOME=/home/u", "PWD=/home/u"};
    s.process.cwd = "/home/u";
    return s;
}

Json config(const ContainerSpec& s, bool terminal = false) {
    return Json::parse(bundle_config(s, terminal));
}

const Json* mount_at(const Json& c, const std::string& dst) {
    const Json* found = nullptr;
    for (const auto& m : c["mounts"])
        if (m["destination"] == dst) found = &m;
    return found;
}

bool has(const Json& list, const std::string& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
}

std::vector<std::string> namespaces(const Json& c) {
    std::vector<std::string> out;
    for (const auto& n : c["linux"]["namespaces"]) out.push_back(n["type"]);
    return out;
}

}  // namespace

TEST_CASE("bundle: the process, root, hostname and id maps are the container's") {
    Json c = config(spec());
    CHECK(c["ociVersion"] == "1.0.2");
    CHECK(c["process"]["terminal"] == false);
    CHECK(config(spec(), true)["process"]["terminal"] == true);
    CHECK(c["process"]["args"] == Json({"/bin/sh", "-c", "echo hi"}));
    CHECK(c["process"]["env"] ==
          Json({"container=kakuri", "PATH=/bin", "HOME=/home/u", "PWD=/home/u"}));
    CHECK(c["process"]["cwd"] == "/home/u");
    CHECK(c["process"]["user"]["uid"] == 0);
    CHECK(c["process"]["noNewPrivileges"] == true);
    CHECK(c["root"]["path"] == "rootfs");
    CHECK(c["root"]["readonly"] == false);
    CHECK(c["hostname"] == "box");
    CHECK(c["linux"]["uidMappings"] ==
          Json::parse(R"([{"containerID":0,"hostID":1000,"size":1},)"
                      R"({"containerID":1,"hostID":100000,"size":65536}])"));
    CHECK(c["linux"]["gidMappings"] ==
          Json::parse(R"([{"containerID":0,"hostID":1001,"size":1}])"));
    CHECK(namespaces(c) ==
          std::vector<std::string>{"pid", "mount", "ipc", "uts", "cgroup", "network", "user"});

    // --user: the caller's ids inside, no capability at all.
    ContainerSpec u = spec();
    u.identity.user = true;
    u.identity.uid = 1000;
    u.identity.gid = 1001;
    u.policy.caps = 0;
    c = config(u);
    CHECK(c["process"]["user"]["uid"] == 1000);
    CHECK(c["process"]["user"]["gid"] == 1001);
    CHECK(c["process"]["capabilities"]["bounding"].empty());
    CHECK(c["process"]["capabilities"]["effective"].empty());
}

TEST_CASE(
    "bundle: capabilities are kakuri's set with --cap-add and --cap-drop, nothing inherited") {
    ContainerSpec s = spec();
    s.policy.caps = (default_caps() | parse_cap("SYS_PTRACE")) & ~parse_cap("NET_RAW");
    Json caps = config(s)["process"]["capabilities"];
    for (const char* set : {"bounding", "effective", "permitted"}) {
        CHECK(has(caps[set], "CAP_CHOWN"));
        CHECK(has(caps[set], "CAP_SYS_PTRACE"));
        CHECK_FALSE(has(caps[set], "CAP_NET_RAW"));
        CHECK_FALSE(has(caps[set], "CAP_SYS_ADMIN"));
        CHECK(caps[set].size() == static_cast<size_t>(__builtin_popcountll(s.policy.caps)));
    }
    CHECK(caps["inheritable"].empty());
    CHECK(caps["ambient"].empty());
}

TEST_CASE("bundle: mounts as kakuri lays them out, binds with their options") {
    Json c = config(spec());
    std::vector<std::string> order;
    for (const auto& m : c["mounts"]) order.push_back(m["destination"]);
    CHECK(order == std::vector<std::string>{"/tmp", "/run", "/dev", "/dev/pts", "/dev/shm",
                                            "/dev/mqueue", "/proc", "/sys", "/data", "/mnt/ro"});
    CHECK((*mount_at(c, "/tmp"))["options"] == Json({"nosuid", "nodev", "mode=1777"}));
    CHECK((*mount_at(c, "/proc"))["type"] == "proc");
    // Its own network: a sysfs of its own, read-only.
    CHECK((*mount_at(c, "/sys"))["type"] == "sysfs");
    CHECK(has((*mount_at(c, "/sys"))["options"], "ro"));
    const Json& rw = *mount_at(c, "/data");
    CHECK(rw["type"] == "bind");
    CHECK(rw["source"] == "/srv/data");
    CHECK(rw["options"] == Json({"rbind", "nosuid", "nodev", "rw"}));
    const Json& ro = *mount_at(c, "/mnt/ro");
    CHECK(ro["source"] == "/srv/ro");
    CHECK(ro["options"] == Json({"rbind", "nosuid", "nodev", "ro", "rro"}));
    // A user namespace hides /proc's host-wide files by itself: kakuri masks none there.
    CHECK(c["linux"]["maskedPaths"].empty());
    CHECK(c["linux"]["readonlyPaths"].empty());
    CHECK_FALSE(c["linux"].contains("resources"));

    // With --tmpfs-size, each in-memory directory is bounded.
    ContainerSpec s = spec();
    s.policy.limits.tmpfs_size = 64 << 20;
    CHECK(has((*mount_at(config(s), "/run"))["options"], "size=67108864"));
}

TEST_CASE("bundle: the host's network has no network namespace and the host's /sys") {
    ContainerSpec s = spec();
    s.policy.share_net = true;
    Json c = config(s);
    CHECK_FALSE(has(Json(namespaces(c)), "network"));
    const Json& sys = *mount_at(c, "/sys");
    CHECK(sys["type"] == "bind");
    CHECK(sys["source"] == "/sys");
    CHECK(has(sys["options"], "rro"));
}

TEST_CASE("bundle: as real root, no user namespace and /proc's host-wide files masked") {
    ContainerSpec s = spec();
    s.identity.userns = false;
    s.identity.uid_map.clear();
    s.identity.gid_map.clear();
    Json c = config(s);
    CHECK_FALSE(c["linux"].contains("uidMappings"));
    CHECK_FALSE(has(Json(namespaces(c)), "user"));
    for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/sysrq-trigger", "/sys/firmware"})
        CHECK(has(c["linux"]["maskedPaths"], p));
    CHECK(has(c["linux"]["readonlyPaths"], "/proc/sys"));
}

TEST_CASE("bundle: kakuri's own state a bind shows is pinned from the host and masked") {
    ContainerSpec s = spec();
    s.layout.binds = {{"/home/u", "/home/u", false}};
    s.layout.hidden = {{"/home/u/.local/kakuri/containers", true, 0700, "containers_dir", true}};
    Json c = config(s);
    const Json* pin = mount_at(c, "/home/u/.local/kakuri");
    REQUIRE(pin != nullptr);
    CHECK((*pin)["source"] == "/home/u/.local/kakuri");
    CHECK((*pin)["type"] == "bind");
    CHECK(mount_at(c, "/home/u/.local") != nullptr);
    CHECK(has(c["linux"]["maskedPaths"], "/home/u/.local/kakuri/containers"));
}

TEST_CASE("bundle: limits become the runtime's cgroup resources") {
    ContainerSpec s = spec();
    s.policy.limits.memory = 256 << 20;
    s.policy.limits.pids = 100;
    s.policy.limits.cpu_millis = 500;
    Json r = config(s)["linux"]["resources"];
    CHECK(r["memory"]["limit"] == 256 << 20);
    CHECK(r["memory"]["swap"] == 256 << 20);
    CHECK(r["pids"]["limit"] == 100);
    CHECK(r["cpu"]["quota"] == 50000);
    CHECK(r["cpu"]["period"] == 100000);
}

TEST_CASE("bundle: the seccomp filter is the default filter's table, rule for rule") {
    Json sc = config(spec())["linux"]["seccomp"];
    CHECK(sc["defaultAction"] == "SCMP_ACT_ALLOW");
#if defined(__x86_64__)
    CHECK(sc["architectures"] == Json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
    const auto& rules = default_filter_rules();
    REQUIRE(sc["syscalls"].size() == rules.size());
    for (size_t i = 0; i < rules.size(); ++i) {
        const Json& j = sc["syscalls"][i];
        CHECK(j["names"] == Json({rules[i].name}));
        CHECK(j["action"] == "SCMP_ACT_ERRNO");
        CHECK(j["errnoRet"] == rules[i].err);
        CHECK(j.contains("args") == rules[i].masked);
    }
    // What each kind of rule looks like: a plain one, one the new mount API gets, one on an
    // argument (unshare(CLONE_NEWUSER): value is the mask, valueTwo what it must equal).
    auto rule = [&](const std::string& name) {
        for (const auto& j : sc["syscalls"])
            if (j["names"][0] == name) return j;
        return Json();
    };
    CHECK(rule("keyctl")["errnoRet"] == EPERM);
    CHECK(rule("fsopen")["errnoRet"] == ENOSYS);
    CHECK(rule("unshare")["args"] ==
          Json::parse(R"([{"index":0,"value":268435456,"valueTwo":268435456,)"
                      R"("op":"SCMP_CMP_MASKED_EQ"}])"));
    CHECK(rule("ioctl")["args"][0]["index"] == 1);
    CHECK(rule("ioctl")["args"][0]["value"] == 0xffffffffULL);

    ContainerSpec off = spec();
    off.policy.seccomp = false;
    CHECK_FALSE(config(off)["linux"].contains("seccomp"));
}

TEST_CASE("bundle: a container a bundle cannot hold is refused") {
    ContainerSpec host = spec();
    host.layout.rootfs.clear();
    host.layout.system = {{"/usr", false, ""}};
    CHECK_THROWS_AS(bundle_config(host, false), Error);
    ContainerSpec cow = spec();
    Bind b{"/srv/src", "/src", false};
    b.overlay = true;
    b.change_set = 3;
    cow.layout.binds.push_back(b);
    CHECK_THROWS_WITH_AS(bundle_config(cow, false), doctest::Contains("--overlay /srv/src"), Error);
}

}  // namespace kakuri
