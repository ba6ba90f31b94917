// leftovers: snapshot and walk of the places a temporary container's writes vanish with, and
// the note about them. Every step is on a directory fd, without following a link: what a
// program left there decides nothing but the names printed.
#include "leftovers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "paths.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

// The place's directory, opened without following a link anywhere on its path.
UniqueFd open_place(const std::string& path) {
    int fd = sys_openat2(AT_FDCWD, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                         RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    return UniqueFd(fd);
}

long long mtime_ns(const struct stat& st) {
    return static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

// The names in a directory, sorted, "." and ".." left out; each counts against the budget.
std::vector<std::string> names_in(int dirfd, size_t& budget, bool& more) {
    std::vector<std::string> out;
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return out;
    DIR* d = fdopendir(fd);
    if (!d) {
        ::close(fd);
        return out;
    }
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (budget == 0) {
            more = true;
            break;
        }
        --budget;
        out.push_back(n);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

struct Walk {
    Walk(const Snapshot::Place& p, size_t b, size_t depth)
        : place(p), budget(b), max_depth(depth) {}
    const Snapshot::Place& place;
    size_t budget;
    size_t max_depth;
    bool more = false;
    std::set<std::pair<dev_t, ino_t>> seen;  // snapshot: what is there
    std::vector<Leftover>* found = nullptr;  // find: what is new

    void dir(int fd, const std::string& path, size_t depth) {
        for (const auto& n : names_in(fd, budget, more)) {
            struct stat st;
            if (fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            if (st.st_dev != place.dev) continue;  // a mount: kept, or something else's
            const bool is_dir = S_ISDIR(st.st_mode);
            const std::string p = path + "/" + n;
            if (found && !place.known.count({st.st_dev, st.st_ino})) {
                found->push_back({place.path, p + (is_dir ? "/" : ""), false, false});
                continue;
            }
            if (!found) seen.insert({st.st_dev, st.st_ino});
            if (!is_dir) continue;
            if (depth >= max_depth) {
                more = true;
                continue;
            }
            UniqueFd sub(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (sub) dir(sub.get(), p, depth + 1);
        }
    }
};

}  // namespace

Snapshot take_snapshot(const std::vector<std::string>& dirs, const std::vector<std::string>& paths,
                       const WalkLimits& limits) {
    Snapshot s;
    size_t budget = limits.entries;
    for (const auto& d : dirs) {
        Snapshot::Place p;
        p.path = d;
        UniqueFd dir = open_place(d);
        struct stat st;
        if (!dir || fstat(dir.get(), &st) != 0) continue;
        p.dev = st.st_dev;
        p.dir_ino = st.st_ino;
        Walk w(p, budget, limits.depth);
        w.dir(dir.get(), d == "/" ? "" : d, 0);
        budget = w.budget;
        p.known = std::move(w.seen);
        s.places.push_back(std::move(p));
    }
    for (const auto& path : paths) {
        Snapshot::Place p;
        p.path = path;
        p.whole = false;
        struct stat st;
        if (lstat(path.c_str(), &st) == 0) {
            p.existed = true;
            p.ino = st.st_ino;
            p.mtime_ns = mtime_ns(st);
        }
        s.places.push_back(std::move(p));
    }
    return s;
}

Leftovers find_leftovers(const Snapshot& before, const WalkLimits& limits) {
    Leftovers out;
    size_t budget = limits.entries;
    for (const auto& p : before.places) {
        if (!p.whole) {
            struct stat st;
            if (lstat(p.path.c_str(), &st) != 0) continue;
            const bool same = p.existed && st.st_ino == p.ino;
            if (same && mtime_ns(st) == p.mtime_ns) continue;
            out.items.push_back({p.path, p.path + (S_ISDIR(st.st_mode) ? "/" : ""), same, false});
            continue;
        }
        // The same directory or none: one a program put in its place (a link, another tree)
        // is not the place.
        UniqueFd dir = open_place(p.path);
        struct stat st;
        if (!dir || fstat(dir.get(), &st) != 0 || st.st_dev != p.dev || st.st_ino != p.dir_ino)
            continue;
        Walk w(p, budget, limits.depth);
        w.found = &out.items;
        w.dir(dir.get(), p.path == "/" ? "" : p.path, 0);
        budget = w.budget;
        out.more = out.more || w.more;
    }
    for (auto& i : out.items) {
        const std::string rel = i.path.substr(i.place.size());
        for (const auto& c : path_components(rel)) i.noise = i.noise || is_noise(c);
    }
    return out;
}

bool is_noise(const std::string& name) {
    static const char* const kNames[] = {".cache",   ".config",    ".local",     ".npm",
                                         ".cargo",   ".rustup",    ".gnupg",     ".lesshst",
                                         ".viminfo", ".wget-hsts", "__pycache__"};
    for (const char* n : kNames)
        if (name == n) return true;
    auto ends = [&](const std::string& s) {
        return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    // Shells' and REPLs' histories (.bash_history, .python_history), tools' caches (.pytest_cache).
    return name[0] == '.' && (ends("history") || ends("_cache"));
}

std::string format_leftovers(const Leftovers& l, bool verbose, size_t shown) {
    std::vector<const Leftover*> items;
    for (const auto& i : l.items)
        if (verbose || !i.noise) items.push_back(&i);
    if (items.empty()) return "";
    size_t changed = 0;
    bool one_place = true;
    for (const auto* i : items) {
        changed += i->changed ? 1 : 0;
        one_place = one_place && i->place == items[0]->place && i->path != i->place;
    }
    const size_t n = items.size();
    std::string what = changed == 0 ? "new" : changed == n ? "changed" : "new or changed";
    std::string out = "kakuri: note: discarded " + std::to_string(n) + (l.more ? "+" : "") + " " +
                      what + (n == 1 ? " file" : " files");
    const std::string& place = items[0]->place;
    if (one_place) out += " in " + place;
    out += ": ";
    for (size_t k = 0; k < n && k < shown; ++k) {
        std::string p = items[k]->path;
        if (one_place) p = p.substr(place.size() + (place == "/" ? 0 : 1));
        out += (k ? ", " : "") + p;
    }
    if (n > shown)
        out += " and " + std::to_string(n - shown) + " more";
    else if (l.more)
        out += " and more";
    return out + " (use --bind DIR to keep them)\n";
}

}  // namespace kakuri
