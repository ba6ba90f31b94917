// fuzz_bind: bind specs ("SRC[:DST][:ro]") through parse_bind_spec. The first byte picks
// --ro-bind (bit 0) and the home (bit 1: "/", where `~/x` is a path right below the root).
#include "fuzz.hpp"
#include "paths.hpp"
#include "spec.hpp"
#include "sys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const bool force_ro = data[0] & 1;
    const std::string home = data[0] & 2 ? "/" : "/home/fuzz";
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    kakuri::Bind b;
    try {
        b = kakuri::parse_bind_spec(text, force_ro, home, "/work/dir");
    } catch (const kakuri::Error&) {
        return 0;
    }
    FUZZ_CHECK(!b.src.empty() && b.src[0] == '/' && kakuri::normalize_path(b.src) == b.src);
    FUZZ_CHECK(!b.dst.empty() && b.dst[0] == '/' && kakuri::normalize_path(b.dst) == b.dst);
    FUZZ_CHECK(b.dst != "/");
    FUZZ_CHECK(b.ro || !force_ro);
    return 0;
}
