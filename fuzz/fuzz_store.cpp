// fuzz_store: the input as a persistent container's record and as its state file, through
// parse_record and parse_state; what parsed must read back the same after formatting.
#include <cstdint>

#include "fuzz.hpp"
#include "store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const kakuri::Record r = kakuri::parse_record(text);
        const kakuri::Record back = kakuri::parse_record(kakuri::format_record(r));
        FUZZ_CHECK(back.version == r.version && back.name == r.name && back.created == r.created &&
                   back.args == r.args && back.network == r.network && back.root == r.root &&
                   back.cwd == r.cwd);
    } catch (const kakuri::Error&) {
    }
    try {
        const kakuri::State s = kakuri::parse_state(text);
        // The parser reads numbers as int64 (see to_int): only those round-trip.
        if (s.start_time <= INT64_MAX && s.pidns <= INT64_MAX) {
            const kakuri::State back = kakuri::parse_state(kakuri::format_state(s));
            FUZZ_CHECK(back.pid == s.pid && back.start_time == s.start_time &&
                       back.pidns == s.pidns && back.userns == s.userns &&
                       back.started == s.started);
        }
    } catch (const kakuri::Error&) {
    }
    return 0;
}
