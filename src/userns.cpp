// userns: writes the id maps; explains refused user namespaces.
#include "userns.hpp"

#include <errno.h>

#include "sys.hpp"

namespace kakuri {

std::string format_id_map(const std::vector<IdMapLine>& map) {
    std::string out;
    for (const auto& l : map)
        out += std::to_string(l.inside) + " " + std::to_string(l.outside) + " " +
               std::to_string(l.count) + "\n";
    return out;
}

void write_own_maps(const std::vector<IdMapLine>& uid_map, const std::vector<IdMapLine>& gid_map) {
    try {
        write_file("/proc/self/setgroups", "deny");
        write_file("/proc/self/uid_map", format_id_map(uid_map));
        write_file("/proc/self/gid_map", format_id_map(gid_map));
    } catch (const Error& e) {
        throw Error(std::string("set up the user namespace: ") + e.what() + userns_hint());
    }
}

std::string userns_hint() {
    std::string v;
    auto value_is = [&](const char* path, const char* want) {
        return read_file(path, v) && v.compare(0, 1, want) == 0;
    };
    if (value_is("/proc/sys/kernel/unprivileged_userns_clone", "0"))
        return " (unprivileged user namespaces are disabled: sudo sysctl -w "
               "kernel.unprivileged_userns_clone=1)";
    if (value_is("/proc/sys/user/max_user_namespaces", "0"))
        return " (user namespaces are disabled: sudo sysctl -w user.max_user_namespaces=15000)";
    if (value_is("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"))
        return " (AppArmor restricts unprivileged user namespaces: install an AppArmor profile "
               "for kakuri, or sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)";
    return "";
}

}  // namespace kakuri
