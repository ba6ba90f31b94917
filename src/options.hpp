// options: what the user asked for on the command line, as written: the Options type, which cli
// fills from argv and spec reads, and the shape of a bind as the user writes it (on the command
// line and in a config file). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kakuri {

enum class NetworkMode { None, Host, Private };

// One -p/--publish [HOSTIP:]HOSTPORT:PORT[/tcp|/udp], taken apart: HOSTPORT..HOSTPORT+count-1 on
// HOSTIP forwarded to PORT..PORT+count-1 inside (a range is HOSTPORT-LAST:PORT-LAST, both of one
// length). HOSTIP defaults to 127.0.0.1 (README, "A private network").
struct Publish {
    std::string host_ip = "127.0.0.1";
    uint16_t host_port = 0;
    uint16_t port = 0;
    uint16_t count = 1;
    bool udp = false;
    bool operator==(const Publish& o) const {
        return host_ip == o.host_ip && host_port == o.host_port && port == o.port &&
               count == o.count && udp == o.udp;
    }
};
// Throws Error (naming the text and what is wrong) on anything but the form above: ports 1-65535,
// an IPv4 address for HOSTIP, ranges of equal length.
Publish parse_publish(const std::string& text);
// As the user writes it and kakuri prints it: 127.0.0.1:8080:80/tcp, 127.0.0.1:8000-8001:80-81/udp.
std::string format_publish(const Publish& p);
// Whether two publications would take a same host port of a same protocol.
bool publish_overlap(const Publish& a, const Publish& b);
// An IPv4 or IPv6 address in its usual text form (inet_pton's; no zone): a private network's
// DNS upstream, which pasta reaches through the forward address of the same family.
bool valid_ip(const std::string& text);
bool valid_ipv6(const std::string& text);

// What the user asked for on the command line, as written (no host lookups yet).
struct Options {
    std::vector<std::string> command;  // empty: the user's shell
    NetworkMode network = NetworkMode::None;
    bool network_set = false;           // given on the command line (overrides the config)
    bool host_loopback = false;         // --network=private,host-loopback
    std::vector<std::string> publish;   // -p/--publish, as written, in order
    std::string dns;                    // --dns ADDR: the private network's DNS upstream
    std::vector<std::string> binds;     // "SRC[:DST][:ro]" in order given
    std::vector<bool> binds_ro_forced;  // parallel to binds: came from --ro-bind
    std::vector<std::string> overlays;  // --overlay "SRC[:DST]" in order given
    bool user = false;
    std::string hostname;  // empty: the default
    std::string rootfs;    // --rootfs DIR as written; empty: the host's system directories
    std::string image;     // --image NAME as written; empty: none
    bool userns = false;   // --userns: a user namespace even as real root
    bool subids = false;   // --subids: map subordinate ids too
    std::vector<std::string> env_set;    // K=V or K (copy from caller)
    std::vector<std::string> env_unset;  // K
    bool clearenv = false;
    std::string workdir;
    bool seccomp = true;
    bool seccomp_set = false;
    std::string config;                      // --config FILE
    std::vector<std::string> bind_profiles;  // --bind-profile NAME, in order
    std::string auto_mount;                  // "rw", "ro", "off" or "" (not given)
    std::vector<std::string> cap_add, cap_drop;
    std::string tmpfs_size;  // --tmpfs-size as written; empty: not given
    std::string memory;      // --memory as written; empty: not given
    std::string pids_limit;  // --pids-limit as written
    std::string cpus;        // --cpus as written
    bool dry_run = false;
    int verbosity = 0;  // -1 quiet, 0 normal, 1+ verbose
    bool help = false;
    bool version = false;
};

// A bind as written, "SRC[:DST][:ro|:rw|:overlay]", taken apart: nothing expanded, nothing
// resolved.
struct BindText {
    std::string src;
    std::string dst;   // empty: not given (the same path as SRC)
    std::string mode;  // "ro", "rw", "overlay" or empty: not given
    // false: more fields, or an empty SRC or DST (mode is still what the text ends with)
    bool well_formed = false;
};
BindText split_bind(const std::string& text);

}  // namespace kakuri
