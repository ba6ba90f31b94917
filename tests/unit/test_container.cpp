// Unit tests for container: where a persistent container keeps what it writes, which system
// directories are overlays, what every container gets fresh.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "container.hpp"
#include "strings.hpp"

namespace kakuri {

TEST_CASE("container: a system directory is an overlay unless a link or read-only") {
    CHECK(SystemDir{"/etc", false, "", false}.overlaid());
    CHECK_FALSE(SystemDir{"/bin", true, "usr/bin", false}.overlaid());
    CHECK_FALSE(SystemDir{"/usr", false, "", true}.overlaid());
}

TEST_CASE("container: a persistent container's directory") {
    CHECK(std::string(kPersistHome) == "home");
    CHECK(persist_root_layer().upper == "upper/root");
    CHECK(persist_root_layer().work == "work/root");
    CHECK(persist_layer({"/usr", false, "", false}).upper == "upper/usr");
    CHECK(persist_layer({"/usr", false, "", false}).work == "work/usr");

    Layout host;
    host.system = {{"/usr", false, "", true},
                   {"/bin", true, "usr/bin", false},
                   {"/etc", false, "", false},
                   {"/var", false, "", false}};
    // The home first, then each overlay's upper layer and work directory, in the layout's order.
    CHECK(persist_dirs(host) ==
          std::vector<std::string>{"home", "upper/etc", "work/etc", "upper/var", "work/var"});
    host.home = "";  // a homeless container still has the directory: create makes it alike
    CHECK(persist_dirs(host).front() == "home");

    Layout tree = host;
    tree.rootfs = "/srv/alpine";  // the tree replaces the system directories
    CHECK(persist_dirs(tree) == std::vector<std::string>{"home", "upper/root", "work/root"});
}

TEST_CASE("container: the fresh directories: /var/tmp is a root filesystem's own") {
    std::vector<std::string> host, tree;
    for (const auto& f : fresh_dirs(false)) host.push_back(f.path);
    for (const auto& f : fresh_dirs(true)) tree.push_back(f.path);
    CHECK(host == std::vector<std::string>{"/tmp", "/var/tmp", "/run", "/dev/shm"});
    CHECK(tree == std::vector<std::string>{"/tmp", "/run", "/dev/shm"});
}

TEST_CASE("container: the DNS forwards follow the upstream's family, or the host's nameservers'") {
    auto pick = [](const std::string& dns, const std::string& host) {
        PrivateNet net;
        net.on = true;
        net.dns = dns;
        bool read = false;
        choose_dns_forwards(net, [&](const std::string& path) {
            CHECK(path == "/etc/resolv.conf");
            read = true;
            return host;
        });
        CHECK(read == dns.empty());  // --dns: the host's file is not read
        return std::string(net.dns4 ? "4" : "") + (net.dns6 ? "6" : "");
    };
    // --dns: its own family, whatever the host has.
    CHECK(pick("192.0.2.53", "nameserver 2001:db8::53\n") == "4");
    CHECK(pick("2001:db8::53", "nameserver 192.0.2.53\n") == "6");
    CHECK(pick("::1", "") == "6");
    // The host's: each family it names, IPv4's first; none named (pasta says so) is IPv4.
    CHECK(pick("", "nameserver 127.0.0.53\noptions edns0\n") == "4");
    CHECK(pick("", "nameserver 2001:db8::53\nnameserver 192.0.2.53\n") == "46");
    CHECK(pick("", "nameserver 2001:db8::53\nnameserver fe80::1%eth0\n") == "6");
    CHECK(pick("", "# a comment\nsearch example\n  nameserver   ::1\n") == "6");
    CHECK(pick("", "nameserverx 192.0.2.1\n# nameserver ::1\nnameserver not-an-address\n") == "4");
    CHECK(pick("", "") == "4");
}

}  // namespace kakuri
