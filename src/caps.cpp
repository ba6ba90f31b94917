// caps: reduces root's capabilities inside the container.
#include "caps.hpp"

#include <errno.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>

#include "sys.hpp"

namespace kakuri {

uint64_t default_caps() {
    uint64_t m = 0;
    for (int c : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
                  CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
                  CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE})
        m |= 1ULL << c;
    return m;
}

uint64_t parse_cap(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (n == "all") return (1ULL << (CAP_LAST_CAP + 1)) - 1;
    if (n.compare(0, 4, "cap_") != 0) n = "cap_" + n;
    cap_value_t v;
    if (cap_from_name(n.c_str(), &v) != 0 || v > CAP_LAST_CAP)
        throw Error("unknown capability '" + name + "' (see capabilities(7))");
    return 1ULL << v;
}

std::string format_caps(uint64_t mask) {
    std::string out;
    for (int c = 0; c <= CAP_LAST_CAP; ++c) {
        if (!(mask & (1ULL << c))) continue;
        char* n = cap_to_name(c);
        if (!out.empty()) out += ",";
        out += n ? std::string(n).substr(4) : std::to_string(c);
        cap_free(n);
    }
    return out.empty() ? "none" : out;
}

void apply_caps(uint64_t mask) {
    int last = CAP_LAST_CAP;
    std::string v;
    if (read_file("/proc/sys/kernel/cap_last_cap", v)) last = std::min(last, std::stoi(v));
    for (int c = 0; c <= last; ++c)
        // Already out (init dropped it before forking the command): dropping again would
        // need CAP_SETPCAP, which may be gone too.
        if (!(mask & (1ULL << c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
            prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
            throw Error("drop capability " + std::to_string(c) + " from the bounding set", errno);
    check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities");
    cap_t caps = cap_init();  // all clear
    if (!caps) throw Error("allocate capabilities", errno);
    std::vector<cap_value_t> keep;
    for (int c = 0; c <= last; ++c)
        if (mask & (1ULL << c)) keep.push_back(c);
    if (!keep.empty()) {
        cap_set_flag(caps, CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET);
        cap_set_flag(caps, CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET);
    }
    int rc = cap_set_proc(caps);
    int err = errno;
    cap_free(caps);
    if (rc != 0) throw Error("set capabilities", err);
}

}  // namespace kakuri
