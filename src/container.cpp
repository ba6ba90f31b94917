// container: the table of what every container gets fresh, and where a persistent one keeps
// what it writes.
#include "container.hpp"

#include <sstream>

#include "options.hpp"

namespace kakuri {

std::vector<FreshDir> fresh_dirs(bool rootfs) {
    if (rootfs) return {{"/tmp", 01777}, {"/run", 0755}, {"/dev/shm", 01777}};
    return {{"/tmp", 01777}, {"/var/tmp", 01777}, {"/run", 0755}, {"/dev/shm", 01777}};
}

namespace {

// "/root" or a system directory's path, "/usr".
PersistLayer layer_at(const std::string& name) {
    return {"upper" + name, "work" + name};
}

}  // namespace

// A system directory is a top-level one other than /root (spec.cpp's is_system_name): the two
// never meet.
PersistLayer persist_root_layer() {
    return layer_at("/root");
}

PersistLayer persist_layer(const SystemDir& dir) {
    return layer_at(dir.path);
}

std::vector<std::string> persist_dirs(const Layout& layout) {
    std::vector<std::string> dirs = {kPersistHome};
    auto add = [&](const PersistLayer& l) {
        dirs.push_back(l.upper);
        dirs.push_back(l.work);
    };
    if (!layout.rootfs.empty()) {
        add(persist_root_layer());
    } else {
        for (const auto& d : layout.system)
            if (d.overlaid()) add(persist_layer(d));
    }
    return dirs;
}

void choose_dns_forwards(PrivateNet& net,
                         const std::function<std::string(const std::string&)>& read_text) {
    if (!net.dns.empty()) {
        net.dns6 = valid_ipv6(net.dns);
        net.dns4 = !net.dns6;
        return;
    }
    bool v4 = false, v6 = false;
    std::istringstream in(read_text("/etc/resolv.conf"));
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string key, address;
        if (!(f >> key >> address) || key != "nameserver") continue;
        address = address.substr(0, address.find('%'));  // fe80::1%eth0
        v6 = v6 || valid_ipv6(address);
        v4 = v4 || (!valid_ipv6(address) && valid_ip(address));
    }
    net.dns4 = v4 || !v6;
    net.dns6 = v6;
}

}  // namespace kakuri
