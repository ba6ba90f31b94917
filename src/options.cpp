// options: the one reading of a bind's "SRC[:DST][:ro|:rw]", for --bind and a config's bind lists.
#include "options.hpp"

#include <arpa/inet.h>

#include "paths.hpp"
#include "sys.hpp"

namespace kakuri {

BindText split_bind(const std::string& text) {
    BindText out;
    std::vector<std::string> parts = split(text, ':');
    if (parts.size() >= 2 &&
        (parts.back() == "ro" || parts.back() == "rw" || parts.back() == "overlay")) {
        out.mode = parts.back();
        parts.pop_back();
    }
    out.well_formed =
        parts.size() <= 2 && !parts[0].empty() && (parts.size() == 1 || !parts[1].empty());
    if (!out.well_formed) return out;
    out.src = parts[0];
    if (parts.size() == 2) out.dst = parts[1];
    return out;
}

namespace {

// A port or a range of ports, "N" or "N-M" (1-65535, N <= M); false on anything else.
bool port_range(const std::string& t, uint16_t& first, uint16_t& count) {
    std::vector<std::string> ends = split(t, '-');
    if (ends.size() > 2) return false;
    unsigned v[2] = {0, 0};
    for (size_t i = 0; i < ends.size(); ++i) {
        const std::string& e = ends[i];
        if (e.empty() || e.size() > 5 || e.find_first_not_of("0123456789") != std::string::npos)
            return false;
        v[i] = static_cast<unsigned>(std::stoul(e));
        if (v[i] < 1 || v[i] > 65535) return false;
    }
    if (ends.size() == 1) v[1] = v[0];
    if (v[1] < v[0]) return false;
    first = static_cast<uint16_t>(v[0]);
    count = static_cast<uint16_t>(v[1] - v[0] + 1);
    return true;
}

}  // namespace

bool valid_ipv6(const std::string& text) {
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool valid_ip(const std::string& text) {
    unsigned char buf[4];
    return inet_pton(AF_INET, text.c_str(), buf) == 1 || valid_ipv6(text);
}

Publish parse_publish(const std::string& text) {
    auto bad = [&](const std::string& why) -> Error {
        return Error("--publish " + shown(text) + ": " + why +
                     " (the form is [HOSTIP:]HOSTPORT:PORT[/tcp|/udp])");
    };
    Publish p;
    std::string t = text;
    size_t slash = t.rfind('/');
    if (slash != std::string::npos) {
        std::string proto = t.substr(slash + 1);
        if (proto != "tcp" && proto != "udp") throw bad("the protocol is tcp or udp");
        p.udp = proto == "udp";
        t = t.substr(0, slash);
    }
    std::vector<std::string> parts = split(t, ':');
    if (parts.size() == 3) {
        unsigned char buf[4];
        if (inet_pton(AF_INET, parts[0].c_str(), buf) != 1)
            throw bad("the host address must be an IPv4 address");
        p.host_ip = parts[0];
        parts.erase(parts.begin());
    }
    if (parts.size() != 2) throw bad("name a host port and a port inside");
    uint16_t hcount = 0, ccount = 0;
    if (!port_range(parts[0], p.host_port, hcount) || !port_range(parts[1], p.port, ccount))
        throw bad("a port is a number from 1 to 65535, a range FIRST-LAST");
    if (hcount != ccount) throw bad("the two ranges differ in length");
    p.count = hcount;
    return p;
}

std::string format_publish(const Publish& p) {
    auto range = [&](uint16_t first) {
        std::string r = std::to_string(first);
        if (p.count > 1) r += "-" + std::to_string(first + p.count - 1);
        return r;
    };
    return p.host_ip + ":" + range(p.host_port) + ":" + range(p.port) + (p.udp ? "/udp" : "/tcp");
}

bool publish_overlap(const Publish& a, const Publish& b) {
    if (a.udp != b.udp) return false;
    const bool same_ip = a.host_ip == b.host_ip || a.host_ip == "0.0.0.0" || b.host_ip == "0.0.0.0";
    return same_ip && a.host_port < b.host_port + b.count && b.host_port < a.host_port + a.count;
}

}  // namespace kakuri
