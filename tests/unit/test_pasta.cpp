// Unit tests for pasta: what its failure means (pasta_failure), who holds a UDP port
// (udp_bound), what TCP connections have yet to deliver (tcp_undelivered).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "pasta.hpp"

namespace kakuri {

// As if binding the port gave err.
std::function<std::string(const std::string&, unsigned, bool)> binding_gives(int err) {
    return [err](const std::string& ip, unsigned port, bool udp) {
        return publish_failure(ip, port, udp, err, "1024");
    };
}

TEST_CASE("pasta: a port pasta could not bind is named as the user published it") {
    // As Debian 12's pasta writes it where no syslog listens.
    const std::string text =
        "Failed to send 51 bytes to syslog\n"
        "Failed to bind any port for '-t 127.0.0.1/18080:80', exiting\n";
    CHECK(pasta_failure(text, "0666", binding_gives(EADDRINUSE)) ==
          "--publish: host port 127.0.0.1:18080/tcp is in use (by another program or container)");
    CHECK(pasta_failure("Failed to bind any port for '-u 0.0.0.0/5353:53', exiting\n", "0666",
                        binding_gives(EADDRINUSE)) ==
          "--publish: host port 0.0.0.0:5353/udp is in use (by another program or container)");
}

TEST_CASE("pasta: why a port could not be bound: in use, privileged, not this host's address") {
    const std::string text = "Failed to bind any port for '-t 192.0.2.1/80:80', exiting\n";
    CHECK(pasta_failure(text, "0666", binding_gives(EACCES)) ==
          "--publish: host port 192.0.2.1:80/tcp is privileged: a port below 1024 "
          "(net.ipv4.ip_unprivileged_port_start) takes root to bind");
    CHECK(pasta_failure(text, "0666", binding_gives(EADDRNOTAVAIL)) ==
          "--publish: 192.0.2.1 is not an address of this host (host port 192.0.2.1:80/tcp)");
    CHECK(pasta_failure(text, "0666", binding_gives(ENOBUFS)) ==
          "--publish: host port 192.0.2.1:80/tcp cannot be bound: " +
              std::string(strerror(ENOBUFS)));
    // Free again by the time kakuri looks: it was in use when pasta tried.
    CHECK(publish_failure("127.0.0.1", 8080, false, 0, "1024") ==
          "--publish: host port 127.0.0.1:8080/tcp is in use (by another program or container)");
    CHECK(publish_failure("127.0.0.1", 443, true, EACCES, "500") ==
          "--publish: host port 127.0.0.1:443/udp is privileged: a port below 500 "
          "(net.ipv4.ip_unprivileged_port_start) takes root to bind");
}

TEST_CASE("pasta: /dev/net/tun not accessible is said with its mode and the fix") {
    CHECK(pasta_failure("1796108208.2619: Failed to open tun socket in namespace\n", "0600",
                        binding_gives(0)) ==
          "--network=private: pasta cannot open /dev/net/tun (mode 0600): it must be readable and "
          "writable by all, as udev makes it on standard distributions (chmod 0666 "
          "/dev/net/tun)");
}

TEST_CASE("pasta: any other failure is pasta's last line, without its time stamp") {
    CHECK(pasta_failure("Failed to send 35 bytes to syslog\n"
                        "1796108208.2619: External interface not usable\n",
                        "0666", binding_gives(0)) ==
          "--network=private: pasta failed: External interface not usable");
    CHECK(pasta_failure("", "0666", binding_gives(0)) == "--network=private: pasta failed");
}

TEST_CASE("pasta: udp_bound counts the sockets on an address's port, and on 0.0.0.0's") {
    const std::string table =
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode ref pointer drops\n"
        "  100: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        "
        "0 1 2 0000000000000000 0\n"
        "  101: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        "
        "0 3 2 0000000000000000 0\n"
        "  102: 0200007F:14EA 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        "
        "0 4 2 0000000000000000 0\n";
    CHECK(udp_bound(table, "127.0.0.1", 5353) == 2);  // 0x14E9 on 127.0.0.1 and on all
    CHECK(udp_bound(table, "127.0.0.2", 5354) == 1);
    CHECK(udp_bound(table, "127.0.0.1", 5354) == 0);
    CHECK(udp_bound(table, "127.0.0.3", 5353) == 1);  // only the one on all addresses
    CHECK(udp_bound(table, "bogus", 5353) == 0);
}

TEST_CASE("pasta: tcp_undelivered sums what connections hold in flight, not listeners'") {
    const std::string head =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n";
    // A listener (0A: its queue is its backlog), an established connection with 0x1000 bytes
    // unacknowledged, one in FIN_WAIT1 (04) whose FIN is not acknowledged, a TIME_WAIT (06),
    // one in CLOSE_WAIT (08) with 0x100000 bytes unread (pasta's end of a spliced connection).
    const std::string table =
        head +
        "   0: 00000000:1F90 00000000:0000 0A 00000000:00000005 00:00000000 00000000  0 0 1\n"
        "   1: 0200000A:1F90 0100000A:C350 01 00001000:00000000 01:00000014 00000000  0 0 2\n"
        "   2: 0200000A:1F90 0100000A:C351 04 00000001:00000000 01:00000014 00000000  0 0 3\n"
        "   3: 0200000A:1F90 0100000A:C352 06 00000000:00000000 03:00001770 00000000  0 0 0\n"
        "   4: 0100007F:D8BE 0100007F:1F90 08 00000000:00100000 00:00000000 00000000  0 0 4\n";
    CHECK(tcp_undelivered(table) == 0x101001);
    int open = 0;
    tcp_undelivered(table, &open);
    CHECK(open == 3);  // not the listener, nor the one in TIME_WAIT
    CHECK(tcp_undelivered(head) == 0);
    CHECK(tcp_undelivered("") == 0);
}

}  // namespace kakuri
