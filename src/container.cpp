// container: the table of what every container gets fresh.
#include "container.hpp"

namespace kakuri {

std::vector<FreshDir> fresh_dirs(bool rootfs) {
    if (rootfs) return {{"/tmp", 01777}, {"/run", 0755}, {"/dev/shm", 01777}};
    return {{"/tmp", 01777}, {"/var/tmp", 01777}, {"/run", 0755}, {"/dev/shm", 01777}};
}

}  // namespace kakuri
