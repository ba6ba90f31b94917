// net: the private network namespace's loopback.
#pragma once

namespace kakuri {

// Bring lo up with one ioctl (no helper process, no netlink round trips).
void bring_up_loopback();

}  // namespace kakuri
