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

}  // namespace kakuri
