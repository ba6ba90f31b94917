// pasta: a private network's way out (README, "A private network"): pasta started for a
// container's network namespace by a keeper process that ends it when the container ends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "plan.hpp"
#include "sys.hpp"

namespace kakuri {

// Connects the container's network namespace (netns: an fd of it, which its init passed) as
// plan.policy.net says, and returns once pasta has set it up; init_pidfd is its init's. The keeper,
// a process of its own session outliving kakuri, kills pasta as soon as init is gone, so that
// nothing of it (no port bound) outlives the container, whatever happens to kakuri; it holds
// hold (a locked file, or -1) until then. On failure
// end_container is called (init ends, and with it the keeper, which is waited for) and Error is
// thrown: one line saying what is wrong (pasta missing, /dev/net/tun not accessible, a port in
// use). Returns a pipe's reading end that reads end of file once the keeper has ended pasta
// (and with it every port it bound).
UniqueFd connect_private_net(const Plan& plan, int netns, int init_pidfd, int hold,
                             const std::function<void()>& end_container);

// Why a published host port could not be bound, from the errno binding it gives (bound: the
// host's address, port and protocol as the user wrote them; unprivileged_start: the host's
// net.ipv4.ip_unprivileged_port_start); one line (pure).
std::string publish_failure(const std::string& host_ip, unsigned port, bool udp, int err,
                            const std::string& unprivileged_start);

// What pasta's failure means, from what it wrote on stderr (pure but for bind_errno: for a
// port pasta could not bind, what binding it gives, as publish_failure takes it).
std::string pasta_failure(const std::string& pasta_stderr, const std::string& tun_mode,
                          const std::function<std::string(const std::string& host_ip, unsigned port,
                                                          bool udp)>& bind_failure);

// What the TCP connections of /proc/net/tcp's (or tcp6's) text have in flight: the sum of
// their tx_queue (bytes sent and not acknowledged or not sent yet, a FIN counting one) and
// rx_queue (bytes received and not read), the listening sockets' left out (pure). open (if
// given) is increased by the number of connections not yet closed (neither listening, nor in
// TIME_WAIT or CLOSE).
uint64_t tcp_undelivered(const std::string& proc_net_tcp, int* open = nullptr);

// How many sockets /proc/net/udp's text (the host's) shows bound to port on address (or on
// 0.0.0.0, which takes it on every address); a UDP port is shared silently (pasta binds with
// SO_REUSEADDR), so more than pasta's own one means another holds it.
int udp_bound(const std::string& proc_net_udp, const std::string& address, unsigned port);

}  // namespace kakuri
