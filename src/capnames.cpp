// capnames: the kernel's capability numbers and their names (capabilities(7)).
#include "capnames.hpp"

#include <linux/capability.h>

#include <algorithm>
#include <cctype>
#include <iterator>

#include "sys.hpp"

namespace kakuri {

namespace {

// By number, as <linux/capability.h> has them; a number past the end prints as itself.
const char* const kNames[] = {
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
};
constexpr int kNamed = static_cast<int>(std::size(kNames));
static_assert(CAP_CHECKPOINT_RESTORE == kNamed - 1, "kNames follows <linux/capability.h>");

}  // namespace

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
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    if (n == "all") return (1ULL << (CAP_LAST_CAP + 1)) - 1;
    if (n.compare(0, 4, "cap_") != 0) n = "cap_" + n;
    // The name ends at the first character that is neither a letter nor '_', as libcap's
    // cap_from_name reads one: "chown,kill" is chown.
    size_t len = 0;
    while (len < n.size() && (std::isalpha(static_cast<unsigned char>(n[len])) || n[len] == '_'))
        ++len;
    const std::string word = n.substr(4, len - 4);
    for (int c = 0; c < kNamed && c <= CAP_LAST_CAP; ++c)
        if (word == kNames[c]) return 1ULL << c;
    throw Error("unknown capability '" + name + "' (see capabilities(7))");
}

std::string format_caps(uint64_t mask) {
    std::string out;
    for (int c = 0; c <= CAP_LAST_CAP; ++c) {
        if (!(mask & (1ULL << c))) continue;
        if (!out.empty()) out += ",";
        out += c < kNamed ? std::string(kNames[c]) : std::to_string(c);
    }
    return out.empty() ? "none" : out;
}

}  // namespace kakuri
