// limits: sizes, CPU counts and process counts as text, both ways.
#include "limits.hpp"

namespace kakuri {

const char* const kSizeForm =
    "a size of at least 1M, like 512M or 1.5G (K, M, G, T: KiB, MiB, GiB, TiB)";
const char* const kCpusForm = "a number of CPUs from 0.01 to 1024, like 0.5 or 2";
const char* const kPidsForm = "a number of processes from 1 to 4194304";

namespace {

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// "12.345": the whole part and up to max_decimals decimals as a count of 10^-max_decimals;
// what follows in rest. False when there is no digit, too many, or too many decimals.
bool decimal(const std::string& text, int max_decimals, uint64_t& scaled, std::string& rest,
             int& decimals) {
    size_t i = 0;
    uint64_t whole = 0, frac = 0;
    int whole_digits = 0;
    decimals = 0;
    while (i < text.size() && digit(text[i])) {
        if (++whole_digits > 15) return false;
        whole = whole * 10 + static_cast<uint64_t>(text[i++] - '0');
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && digit(text[i])) {
            if (++decimals > max_decimals) return false;
            frac = frac * 10 + static_cast<uint64_t>(text[i++] - '0');
        }
        if (decimals == 0) return false;  // "1." is a typo, not a number
    }
    if (whole_digits == 0 && decimals == 0) return false;
    for (int d = decimals; d < max_decimals; ++d) frac *= 10;
    uint64_t scale = 1;
    for (int d = 0; d < max_decimals; ++d) scale *= 10;
    if (whole > (UINT64_MAX - frac) / scale) return false;  // would wrap round
    scaled = whole * scale + frac;
    rest = text.substr(i);
    return true;
}

}  // namespace

bool parse_limit_size(const std::string& text, uint64_t& out) {
    uint64_t scaled = 0;  // in billionths
    std::string unit;
    int decimals = 0;
    if (!decimal(text, 9, scaled, unit, decimals)) return false;
    int shift = unit.empty()                 ? 0
                : unit == "K" || unit == "k" ? 10
                : unit == "M" || unit == "m" ? 20
                : unit == "G" || unit == "g" ? 30
                : unit == "T" || unit == "t" ? 40
                                             : -1;
    if (shift < 0 || (shift == 0 && decimals > 0)) return false;
    const uint64_t billion = 1000000000;
    const uint64_t whole = scaled / billion, frac = scaled % billion;
    if (whole > (UINT64_MAX >> (shift + 1))) return false;
    // The fraction of a unit, in whole bytes (rounded down); frac < 2^30, so frac * 2^30 fits
    // in 64 bits and a larger unit's is that times the rest.
    const uint64_t frac_bytes =
        shift <= 30 ? (frac << shift) / billion : ((frac << 30) / billion) << (shift - 30);
    const uint64_t bytes = (whole << shift) + frac_bytes;
    if (bytes < kMinLimitSize) return false;
    out = bytes;
    return true;
}

bool parse_cpus(const std::string& text, uint64_t& millis) {
    uint64_t scaled = 0;
    std::string rest;
    int decimals = 0;
    if (!decimal(text, 3, scaled, rest, decimals) || !rest.empty()) return false;
    if (scaled < kMinCpuMillis || scaled > kMaxCpuMillis) return false;
    millis = scaled;
    return true;
}

bool parse_pids(const std::string& text, uint64_t& out) {
    if (text.empty() || text.size() > 7) return false;
    uint64_t n = 0;
    for (char c : text) {
        if (!digit(c)) return false;
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (n < 1 || n > kMaxPids) return false;
    out = n;
    return true;
}

std::string format_limit_size(uint64_t n) {
    const char* units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (u < 4 && n != 0 && n % 1024 == 0) {
        n /= 1024;
        ++u;
    }
    return std::to_string(n) + units[u];
}

std::string format_cpus(uint64_t millis) {
    std::string out = std::to_string(millis / 1000);
    uint64_t frac = millis % 1000;
    if (frac == 0) return out;
    std::string f = std::to_string(frac);
    f.insert(0, 3 - f.size(), '0');
    while (!f.empty() && f.back() == '0') f.pop_back();
    return out + "." + f;
}

}  // namespace kakuri
