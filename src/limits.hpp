// limits: what a container may use (README, "Resource limits"): memory, processes, CPUs, the
// in-memory budget of its writable layers; read from how a user writes them (512M, 1.5G, 0.5)
// and written back the same way. Pure.
#pragma once

#include <cstdint>
#include <string>

namespace kakuri {

struct Limits {
    uint64_t memory = 0;      // bytes; 0: no limit
    uint64_t pids = 0;        // processes and threads; 0: no limit
    uint64_t cpu_millis = 0;  // thousandths of a CPU; 0: no limit
    uint64_t tmpfs_size = 0;  // bytes the in-memory writable layers share; 0: the default
    // Applied in a cgroup: memory, pids or CPUs.
    bool cgroup() const { return memory || pids || cpu_millis; }
    bool operator==(const Limits& o) const {
        return memory == o.memory && pids == o.pids && cpu_millis == o.cpu_millis &&
               tmpfs_size == o.tmpfs_size;
    }
};

// The bounds a value is held to: less memory than this cannot start a program; a CPU quota
// below a hundredth is under the kernel's 1 ms per 100 ms period; a pid can be no larger.
constexpr uint64_t kMinLimitSize = 1 << 20;
constexpr uint64_t kMinCpuMillis = 10;
constexpr uint64_t kMaxCpuMillis = 1024 * 1000;
constexpr uint64_t kMaxPids = 4194304;  // PID_MAX_LIMIT

// A size: digits, optionally a fraction, then K, M, G or T (powers of 1024; lower case too);
// plain bytes are whole. At least kMinLimitSize. False when it is not one.
bool parse_limit_size(const std::string& text, uint64_t& out);
// CPUs: digits with at most three decimals ("2", "0.5", ".25"), from kMinCpuMillis to
// kMaxCpuMillis thousandths.
bool parse_cpus(const std::string& text, uint64_t& millis);
// A process count: 1 to kMaxPids, digits only.
bool parse_pids(const std::string& text, uint64_t& out);

// As parse_limit_size reads them back: 268435456 -> "256M", 1610612736 -> "1536M", 1000 ->
// "1000".
std::string format_limit_size(uint64_t bytes);
std::string format_cpus(uint64_t millis);  // 500 -> "0.5", 2000 -> "2"

// What each one takes, for the one line a bad value gets (`--memory takes ...`).
extern const char* const kSizeForm;
extern const char* const kCpusForm;
extern const char* const kPidsForm;

}  // namespace kakuri
