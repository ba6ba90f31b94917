// fuzz_subid: /etc/subuid and /etc/passwd text through find_subid_range and passwd_name, and
// the range found through subid_map. Input: 4 bytes of uid, the user's name up to a NUL, the
// file's text.
#include <algorithm>
#include <cstring>

#include "fuzz.hpp"
#include "idmap.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4) return 0;
    uint32_t id;
    std::memcpy(&id, data, 4);
    const std::string rest(reinterpret_cast<const char*>(data) + 4, size - 4);
    const size_t nul = rest.find('\0');
    const std::string name = rest.substr(0, nul);
    const std::string text = nul == std::string::npos ? "" : rest.substr(nul + 1);

    (void)kakuri::passwd_name(text, id);
    kakuri::SubidRange r;
    if (!kakuri::find_subid_range(text, name, id, r)) return 0;
    FUZZ_CHECK(r.count > 0 && uint64_t(r.start) + r.count - 1 <= UINT32_MAX);

    // Root or --user (the caller's own id inside): ids 0..N but self_inside come from the range,
    // in order and without overlap, N = min(count, 65536).
    for (uint32_t self_inside : {0u, id % 70000u}) {
        auto m = kakuri::subid_map(self_inside, id, r);
        const uint64_t n = std::min(r.count, kakuri::kSubidCount);
        uint64_t from_range = 0, next_inside = 0, next_outside = r.start;
        bool self_seen = false;
        for (const auto& l : m) {
            FUZZ_CHECK(l.count > 0 && l.inside >= next_inside);
            next_inside = uint64_t(l.inside) + l.count;
            FUZZ_CHECK(next_inside <= uint64_t(UINT32_MAX) + 1);
            if (l.inside == self_inside && l.outside == id && l.count == 1 && !self_seen) {
                self_seen = true;
                continue;
            }
            FUZZ_CHECK(l.outside == next_outside);
            next_outside += l.count;
            from_range += l.count;
        }
        FUZZ_CHECK(self_seen && from_range == n);
    }
    return 0;
}
