// caps: reduces root's capabilities inside the container.
#include "caps.hpp"

#include <errno.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sys.hpp"

namespace kakuri {

void apply_caps(uint64_t mask) {
    int last = CAP_LAST_CAP;
    std::string v;
    if (read_file("/proc/sys/kernel/cap_last_cap", v)) last = std::min(last, std::stoi(v));
    for (int c = 0; c <= last; ++c)
        // Dropped straight away (with CAP_SETPCAP, as init has it, dropping what is already out
        // succeeds). Without CAP_SETPCAP every drop fails: then only one still in the set is
        // an error (the process that joins a container for exec, whose init dropped the rest).
        if (!(mask & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
            const int err = errno;
            if (err != EPERM || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0)
                throw Error("drop capability " + std::to_string(c) + " from the bounding set", err);
        }
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
