// fuzz_automount: the input split on NUL bytes as a command's arguments, through detect_paths
// and plan_auto_mounts, and its first three words through resolve_command, on a fake host whose
// file kinds (below a directory) and visibility follow a hash of the path, with symlinks planted
// in the project to the places no mount may reach.
#include <algorithm>

#include "automount.hpp"
#include "fuzz.hpp"
#include "paths.hpp"
#include "spec.hpp"

namespace {

uint32_t hash(const std::string& s) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h;
}

bool is_absolute_normal(const std::string& p) {
    return !p.empty() && p[0] == '/' && kakuri::normalize_path(p) == p;
}

// A consistent file system: what is below a missing path or a file is missing.
kakuri::PathKind kind(const std::string& p) {
    if (p == "/" || p == "/home" || p == "/home/fuzz" || p == "/home/fuzz/proj")
        return kakuri::PathKind::Directory;
    if (p.empty() || p[0] != '/') return kakuri::PathKind::Missing;
    size_t slash = p.rfind('/');
    if (kind(slash == 0 ? "/" : p.substr(0, slash)) != kakuri::PathKind::Directory)
        return kakuri::PathKind::Missing;
    return static_cast<kakuri::PathKind>(hash(p) % 3);
}

// Links a program could have planted in the project, resolved by prefix.
const std::pair<const char*, const char*> kLinks[] = {
    {"/home/fuzz/proj/kern", "/proc/sys/kernel"},
    {"/home/fuzz/proj/home", "/home/fuzz"},
    {"/home/fuzz/proj/root", "/"},
    {"/home/fuzz/proj/tmp", "/tmp/tmux-1"},
    {"/home/fuzz/proj/state", "/home/fuzz/.local/kakuri"},
    {"/home/fuzz/proj/in", "/home/fuzz/proj/v2"},
};

std::string resolve(const std::string& p) {
    std::string cur = kakuri::normalize_path(p);
    for (int hops = 0; hops < 8; ++hops) {
        bool changed = false;
        for (const auto& [from, to] : kLinks) {
            if (kakuri::path_within(cur, from)) {
                cur =
                    kakuri::normalize_path(std::string(to) + cur.substr(std::string(from).size()));
                changed = true;
            }
        }
        if (!changed) break;
    }
    return cur;
}

bool refused(const std::string& p) {
    for (const char* r : {"/proc", "/sys", "/dev", "/home/fuzz/.local/kakuri"})
        if (kakuri::path_within(p, r)) return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::vector<std::string> words = fuzz::split_words(data, size);
    kakuri::HostView h;
    h.home = "/home/fuzz";
    h.cwd = "/home/fuzz/proj";
    h.kind = [](const std::string& p) { return kind(resolve(p)); };
    h.resolve = resolve;
    h.visible = [](const std::string& p) {
        return kakuri::path_within(p, "/usr") || kakuri::path_within(p, "/etc") || hash(p) % 7 == 0;
    };
    h.refused = [](const std::string& p) { return std::string(refused(p) ? "refused" : ""); };
    h.fresh = {"/tmp", "/run"};

    const auto paths = kakuri::detect_paths(words, h);
    for (size_t i = 0; i < paths.size(); ++i) {
        FUZZ_CHECK(is_absolute_normal(paths[i]));
        FUZZ_CHECK(std::find(paths.begin() + i + 1, paths.end(), paths[i]) == paths.end());
    }
    const auto am = kakuri::plan_auto_mounts(words, h);
    const auto& mounts = am.mounts;
    for (const auto& m : mounts) {
        FUZZ_CHECK(is_absolute_normal(m));
        FUZZ_CHECK(resolve(m) == m);
        FUZZ_CHECK(m != "/" && m != h.home && !h.visible(m) && !refused(m));
        FUZZ_CHECK(h.kind(m) != kakuri::PathKind::Missing);
        // Under a fresh directory, only what an argument named directly, never around it.
        for (const auto& f : h.fresh)
            if (kakuri::path_within(m, f))
                FUZZ_CHECK(m != f && std::find(paths.begin(), paths.end(), m) != paths.end());
        for (const auto& o : mounts) FUZZ_CHECK(o == m || !kakuri::path_within(m, o));
    }
    for (const auto& l : am.links) FUZZ_CHECK(resolve(l.path) == l.target);

    if (words.size() >= 3) {
        auto executable = [](const std::string& p) { return hash(p) % 4 == 0; };
        auto r = kakuri::resolve_command(words[0], words[1], words[2], h, executable);
        if (r.kind == kakuri::CommandResolution::FromHost) {
            FUZZ_CHECK(is_absolute_normal(r.path) && executable(r.path) && !h.visible(r.path));
            // What is bound holds the command, and is never / or $HOME, nor refused.
            FUZZ_CHECK(kakuri::path_within(r.path, r.bind) && r.bind != "/" && r.bind != h.home);
            FUZZ_CHECK(!refused(resolve(r.bind)));
        }
        if (r.kind != kakuri::CommandResolution::NotFound) FUZZ_CHECK(!r.path.empty());
    }
    return 0;
}
