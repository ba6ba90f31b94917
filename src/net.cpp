// net: loopback in the container's network namespace.
#include "net.hpp"

#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "sys.hpp"

namespace kakuri {

void bring_up_loopback() {
    UniqueFd s(check(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "open a socket for lo"));
    struct ifreq ifr {};
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    // A new network namespace's lo starts down with no flags but IFF_LOOPBACK.
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    check(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), "bring up lo");
}

}  // namespace kakuri
