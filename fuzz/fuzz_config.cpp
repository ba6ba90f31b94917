// fuzz_config: the input as a config file's text, through parse_config; and kakuri config's
// output for what parsed.
#include "config.hpp"
#include "fuzz.hpp"
#include "spec.hpp"
#include "sys.hpp"

namespace {

template <class T>
bool same(const kakuri::Setting<T>& a, const kakuri::Setting<T>& b) {
    return a.value == b.value && a.set == b.set && a.origin.file == b.origin.file &&
           a.origin.line == b.origin.line;
}

bool same(const kakuri::Config& a, const kakuri::Config& b) {
    if (!(same(a.containers_dir, b.containers_dir) && same(a.allow_network, b.allow_network) &&
          same(a.network, b.network) && same(a.user, b.user) && same(a.hostname, b.hostname) &&
          same(a.auto_mount, b.auto_mount) && same(a.seccomp, b.seccomp) &&
          same(a.subids, b.subids) && same(a.bind, b.bind) &&
          same(a.bind_profiles, b.bind_profiles) && same(a.env, b.env) &&
          same(a.env_drop, b.env_drop) && same(a.env_keep, b.env_keep) &&
          a.profiles.size() == b.profiles.size()))
        return false;
    for (auto i = a.profiles.begin(), j = b.profiles.begin(); i != a.profiles.end(); ++i, ++j)
        if (i->first != j->first || i->second.entries != j->second.entries ||
            i->second.origin.file != j->second.origin.file ||
            i->second.origin.line != j->second.origin.line)
            return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const kakuri::Config before = kakuri::default_config();
    kakuri::Config cfg = before;
    try {
        kakuri::parse_config(text, "fuzz.toml", cfg);
    } catch (const kakuri::Error&) {
        // The contract: a file with an error changes nothing.
        FUZZ_CHECK(same(cfg, before));
        return 0;
    }
    // Later files override key by key, so reading the same file twice changes nothing more.
    kakuri::Config again = cfg;
    kakuri::parse_config(text, "fuzz.toml", again);
    FUZZ_CHECK(same(again, cfg));
    (void)kakuri::format_config(kakuri::effective_config(kakuri::Options{}, cfg));
    return 0;
}
