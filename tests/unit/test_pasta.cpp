// Unit tests for pasta: what its failure means (pasta_failure), who holds a UDP port
// (udp_bound).
#include <doctest/doctest.h>

#include <string>

#include "pasta.hpp"

namespace kakuri {

TEST_CASE("pasta: a port pasta could not bind is named as the user published it") {
    // As Debian 12's pasta writes it where no syslog listens.
    const std::string text =
        "Failed to send 51 bytes to syslog\n"
        "Failed to bind any port for '-t 127.0.0.1/18080:80', exiting\n";
    CHECK(pasta_failure(text, "0666") ==
          "--publish: host port 127.0.0.1:18080/tcp is in use (by another program or container)");
    CHECK(pasta_failure("Failed to bind any port for '-u 0.0.0.0/5353:53', exiting\n", "0666") ==
          "--publish: host port 0.0.0.0:5353/udp is in use (by another program or container)");
}

TEST_CASE("pasta: /dev/net/tun not accessible is said with its mode and the fix") {
    CHECK(pasta_failure("1796108208.2619: Failed to open tun socket in namespace\n", "0600") ==
          "--network=private: pasta cannot open /dev/net/tun (mode 0600): it must be readable and "
          "writable by all, as udev makes it on standard distributions (chmod 0666 "
          "/dev/net/tun)");
}

TEST_CASE("pasta: any other failure is pasta's last line, without its time stamp") {
    CHECK(pasta_failure("Failed to send 35 bytes to syslog\n"
                        "1796108208.2619: External interface not usable\n",
                        "0666") ==
          "--network=private: pasta failed: External interface not usable");
    CHECK(pasta_failure("", "0666") == "--network=private: pasta failed");
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

}  // namespace kakuri
