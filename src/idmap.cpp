// idmap: /etc/subuid and /etc/passwd lines, subordinate-id maps and the maps' text.
#include "idmap.hpp"

#include <algorithm>
#include <climits>

#include "paths.hpp"

namespace kakuri {

namespace {

// A plain decimal uint32: no sign, no spaces, no overflow.
bool parse_u32(const std::string& s, uint32_t& out) {
    if (s.empty() || s.size() > 10) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > UINT32_MAX) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

}  // namespace

bool find_subid_range(const std::string& text, const std::string& name, uint32_t id,
                      SubidRange& out) {
    const std::string id_text = std::to_string(id);
    bool by_id = false;
    for (const auto& line : split(text, '\n')) {
        std::vector<std::string> f = split(line, ':');
        SubidRange r;
        if (f.size() != 3 || !parse_u32(f[1], r.start) || !parse_u32(f[2], r.count) ||
            r.count == 0 || uint64_t(r.start) + r.count - 1 > UINT32_MAX)
            continue;
        if (!name.empty() && f[0] == name) {
            out = r;
            return true;
        }
        if (!by_id && f[0] == id_text) {
            out = r;
            by_id = true;
        }
    }
    return by_id;
}

std::string passwd_name(const std::string& text, uint32_t uid) {
    for (const auto& line : split(text, '\n')) {
        std::vector<std::string> f = split(line, ':');
        uint32_t u;
        if (f.size() >= 4 && !f[0].empty() && parse_u32(f[2], u) && u == uid) return f[0];
    }
    return "";
}

std::vector<IdMapLine> subid_map(uint32_t self_inside, uint32_t self_outside,
                                 const SubidRange& range) {
    const uint32_t n = std::min(range.count, kSubidCount);
    std::vector<IdMapLine> m = {{self_inside, self_outside, 1}};
    if (self_inside > n) {
        m.insert(m.begin(), IdMapLine{0, range.start, n});
        return m;
    }
    if (self_inside > 0) m.insert(m.begin(), IdMapLine{0, range.start, self_inside});
    if (n > self_inside)
        m.push_back(IdMapLine{self_inside + 1, range.start + self_inside, n - self_inside});
    return m;
}

std::vector<std::string> map_helper_argv(const std::string& helper, pid_t pid,
                                         const std::vector<IdMapLine>& map) {
    std::vector<std::string> argv = {helper, std::to_string(pid)};
    for (const auto& l : map) {
        argv.push_back(std::to_string(l.inside));
        argv.push_back(std::to_string(l.outside));
        argv.push_back(std::to_string(l.count));
    }
    return argv;
}

std::string format_id_map(const std::vector<IdMapLine>& map) {
    std::string out;
    for (const auto& l : map)
        out += std::to_string(l.inside) + " " + std::to_string(l.outside) + " " +
               std::to_string(l.count) + "\n";
    return out;
}

}  // namespace kakuri
