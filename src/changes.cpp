// changes: changes_dir/ID/{meta,upper/,work/}; reading an upper layer against SRC, applying it,
// diffing it. The upper layer is what a contained program left: every path in it is opened
// beneath its root without following a link, and nothing in it is ever run.
#include "changes.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <sstream>

#include "durable.hpp"
#include "paths.hpp"
#include "store.hpp"
#include "supervise.hpp"
#include "trust.hpp"

namespace kakuri {

namespace {

const char* const kMetaFile = "meta";
const char* const kNewPrefix = ".new-";
const char* const kTrashPrefix = ".trash-";
// Beneath the given directory, never through a link, never into another mount.
const unsigned long long kBeneath =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

int64_t ns_of(const struct timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// path relative to a directory fd ("" is the directory itself).
UniqueFd open_beneath(int root, const std::string& rel, int flags) {
    const std::string p = rel.empty() ? "." : rel;
    return UniqueFd(sys_openat2(root, p.c_str(), flags | O_CLOEXEC, 0, kBeneath));
}

// lstat of rel beneath root: its directories opened without following a link.
bool stat_beneath(int root, const std::string& rel, struct stat& st) {
    const size_t slash = rel.rfind('/');
    UniqueFd parent = open_beneath(root, slash == std::string::npos ? "" : rel.substr(0, slash),
                                   O_PATH | O_DIRECTORY);
    const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    return parent && fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// Throws when it cannot be read whole (out of fds, an I/O error): a listing cut short would be
// taken for changes that are not there, and a change set counted empty is deleted.
std::vector<std::string> list_dir(int dirfd) {
    std::vector<std::string> out;
    UniqueFd again(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = again ? fdopendir(again.get()) : nullptr;
    if (!d) throw Error("read a directory", errno);
    again.release();
    errno = 0;
    while (dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            out.emplace_back(e->d_name);
        errno = 0;
    }
    const int err = errno;
    closedir(d);
    if (err) throw Error("read a directory", err);
    std::sort(out.begin(), out.end());
    return out;
}

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

bool is_opaque(int dirfd, const std::string& name, const std::string& xattrs) {
    // The root's form (trusted.*) or the user namespace's (userxattr: user.*): the one the
    // overlay used. As real root a program may set user.overlay.opaque on its own directory,
    // which overlayfs then keeps as any xattr and never acts on.
    const std::string p = fd_path(dirfd) + "/" + name;
    for (const char* key : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
        if (!xattrs.empty() && std::string(key).rfind(xattrs + ".", 0) != 0) continue;
        char v[4] = {};
        ssize_t n = lgetxattr(p.c_str(), key, v, sizeof v);
        if (n == 1 && v[0] == 'y') return true;
    }
    return false;
}

EntryFacts facts_at(int dirfd, const std::string& name, struct stat& st, bool upper,
                    const std::string& xattrs = "") {
    EntryFacts f;
    if (dirfd < 0 || fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return f;
    f.mode = st.st_mode & 07777;
    if (S_ISREG(st.st_mode))
        f.type = EntryType::File;
    else if (S_ISDIR(st.st_mode)) {
        f.type = EntryType::Dir;
        f.opaque = upper && is_opaque(dirfd, name, xattrs);
    } else if (S_ISLNK(st.st_mode)) {
        f.type = EntryType::Symlink;
        std::string buf(PATH_MAX, '\0');
        ssize_t n = readlinkat(dirfd, name.c_str(), &buf[0], buf.size());
        f.link = n > 0 ? buf.substr(0, static_cast<size_t>(n)) : "";
    } else if (upper && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
        f.type = EntryType::Whiteout;
    } else {
        f.type = EntryType::Other;
        f.other = S_ISFIFO(st.st_mode)   ? "a fifo"
                  : S_ISSOCK(st.st_mode) ? "a socket"
                                         : "a device node";
    }
    return f;
}

// Do two open regular files hold the same bytes?
bool same_bytes(int a, int b) {
    static char x[65536], y[65536];
    for (;;) {
        ssize_t n = ::read(a, x, sizeof x);
        if (n < 0) return false;
        size_t got = 0;
        while (got < static_cast<size_t>(n)) {
            ssize_t m = ::read(b, y + got, static_cast<size_t>(n) - got);
            if (m <= 0) return false;
            got += static_cast<size_t>(m);
        }
        if (n == 0) {
            char c;
            return ::read(b, &c, 1) == 0;
        }
        if (memcmp(x, y, static_cast<size_t>(n)) != 0) return false;
    }
}

// A regular file beneath root, opened for reading: looked at (O_PATH) before it is opened, so
// that a device node, fifo or socket put there meanwhile is never opened (a device's open is
// its driver's code). Invalid when it is not a regular file (errno EINVAL) or cannot be read.
UniqueFd open_regular(int root, const std::string& rel, struct stat* st_out = nullptr) {
    UniqueFd p = open_beneath(root, rel, O_PATH | O_NOFOLLOW);
    struct stat st;
    if (!p || fstat(p.get(), &st) != 0) return {};
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return {};
    }
    if (st_out) *st_out = st;
    return reopen(p.get(), O_RDONLY);
}

bool same_file_data(int updir, int lowdir, const std::string& name, off_t a, off_t b) {
    if (a != b) return false;
    UniqueFd u = open_regular(updir, name), l = open_regular(lowdir, name);
    return u && l && same_bytes(u.get(), l.get());
}

int64_t birth_ns(int dirfd, const std::string& name, int64_t fallback) {
    struct statx sx;
    if (statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
        (sx.stx_mask & STATX_BTIME))
        return static_cast<int64_t>(sx.stx_btime.tv_sec) * 1000000000 + sx.stx_btime.tv_nsec;
    return fallback;
}

}  // namespace

std::string format_change_meta(const ChangeMeta& m) {
    return "version 1\nid " + std::to_string(m.id) + "\nsrc " + encode_word(m.src) + "\ndst " +
           encode_word(m.dst) + "\ncreated " + std::to_string(m.created_ns) + "\ncontainer " +
           encode_word(m.container) + "\n" + (m.xattrs.empty() ? "" : "xattrs " + m.xattrs + "\n") +
           (m.subids ? "subids yes\n" : "");
}

bool parse_change_id(const std::string& text, unsigned& id) {
    if (text.empty() || text.size() > 9 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return false;
    id = static_cast<unsigned>(std::stoul(text));
    return id != 0;
}

ChangeMeta parse_change_meta(const std::string& text) {
    ChangeMeta m;
    std::istringstream in(text);
    bool version = false;
    for (std::string line; std::getline(in, line);) {
        size_t sp = line.find(' ');
        std::string k = line.substr(0, sp), v = sp == std::string::npos ? "" : line.substr(sp + 1);
        if (k == "version") {
            if (v != "1") throw Error("a change set of another kakuri version (" + shown(v) + ")");
            version = true;
        } else if (k == "id") {
            if (!parse_change_id(v, m.id)) throw Error("bad id in a change set's meta");
        } else if (k == "src")
            m.src = decode_word(v);
        else if (k == "dst")
            m.dst = decode_word(v);
        else if (k == "created") {
            if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos ||
                v.size() > 19)
                throw Error("bad created time in a change set's meta");
            m.created_ns = std::stoll(v);
        } else if (k == "container")
            m.container = decode_word(v);
        else if (k == "xattrs") {
            if (v != "user" && v != "trusted") throw Error("bad xattrs in a change set's meta");
            m.xattrs = v;
        } else if (k == "subids") {
            if (v != "yes") throw Error("bad subids in a change set's meta");
            m.subids = true;
        } else if (!k.empty())
            throw Error("unknown field " + shown(k) + " in a change set's meta");
    }
    if (!version || m.id == 0 || m.src.empty() || m.src[0] != '/')
        throw Error("an incomplete change set meta");
    return m;
}

const char* change_kind_name(ChangeKind k) {
    switch (k) {
    case ChangeKind::None: return "none";
    case ChangeKind::Added: return "added";
    case ChangeKind::Modified: return "modified";
    case ChangeKind::Deleted: return "deleted";
    case ChangeKind::Renamed: return "renamed";
    case ChangeKind::Mode: return "mode";
    case ChangeKind::Refused: return "refused";
    }
    return "?";
}

bool link_stays_inside(const std::string& path, const std::string& target) {
    if (target.empty() || target[0] == '/') return false;
    // Lexically, from the link's directory; a ".." above SRC's top leaves it.
    std::vector<std::string> at = path_components("/" + path);
    if (!at.empty()) at.pop_back();
    for (const auto& c : path_components(target)) {
        if (c == "..") {
            if (at.empty()) return false;
            at.pop_back();
        } else
            at.push_back(c);
    }
    return true;
}

ChangeKind classify_entry(const std::string& path, const EntryFacts& up, const EntryFacts& low,
                          std::string& why) {
    switch (up.type) {
    case EntryType::Missing: return ChangeKind::None;
    case EntryType::Whiteout:
        // A whiteout over nothing: SRC lost it too since.
        return low.type == EntryType::Missing ? ChangeKind::None : ChangeKind::Deleted;
    case EntryType::Other: why = up.other + ": never applied"; return ChangeKind::Refused;
    case EntryType::Symlink:
        if (!link_stays_inside(path, up.link)) {
            why = "a symbolic link leading out of the directory: never applied";
            return ChangeKind::Refused;
        }
        if (low.type == EntryType::Missing) return ChangeKind::Added;
        return low.type == EntryType::Symlink && low.link == up.link ? ChangeKind::None
                                                                     : ChangeKind::Modified;
    case EntryType::Dir:
        if (low.type == EntryType::Missing) return ChangeKind::Added;
        if (low.type != EntryType::Dir) return ChangeKind::Modified;
        return (up.mode & 0777) != (low.mode & 0777) ? ChangeKind::Mode : ChangeKind::None;
    case EntryType::File:
        if (low.type == EntryType::Missing) return ChangeKind::Added;
        if (low.type != EntryType::File || !up.same_data) return ChangeKind::Modified;
        return (up.mode & 0777) != (low.mode & 0777) ? ChangeKind::Mode : ChangeKind::None;
    }
    return ChangeKind::None;
}

bool is_conflict(bool host_exists, int64_t host_ctime_ns, int64_t since_ns) {
    return host_exists && host_ctime_ns >= since_ns;
}

bool change_chosen(const Change& c, const std::string& path) {
    const std::string p = normalize_path("/" + path);
    if (path_within(normalize_path("/" + c.path), p)) return true;
    return c.kind == ChangeKind::Renamed && path_within(normalize_path("/" + c.from), p);
}

namespace {

std::string octal(mode_t m) {
    char b[16];
    snprintf(b, sizeof b, "%04o", static_cast<unsigned>(m & 07777));
    return b;
}

// A name as a JSON string that drives no terminal: what acts_on_terminal as \uXXXX, a byte that
// is not UTF-8 as the lone surrogate \udcXX (as Python's surrogateescape reads it back).
std::string json_string(const std::string& s) {
    std::string o = "\"";
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        uint32_t cp = 0;
        const size_t n = utf8_at(s, i, cp);
        char b[8];
        if (c == '"' || c == '\\') {
            o += std::string("\\") + static_cast<char>(c);
        } else if (n == 0) {
            snprintf(b, sizeof b, "\\udc%02x", c);
            o += b;
        } else if (acts_on_terminal(cp)) {
            snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(cp));
            o += b;
        } else {
            o.append(s, i, n);
        }
        i += n ? n : 1;
    }
    return o + "\"";
}

}  // namespace

std::string format_changes(const std::vector<Change>& changes) {
    std::string out;
    for (const auto& c : changes) {
        std::string line = change_kind_name(c.kind);
        line.resize(10, ' ');
        const std::string slash = c.dir ? "/" : "";
        if (c.kind == ChangeKind::Renamed)
            line += c.from + " -> " + c.path;
        else
            line += c.path + slash;
        if (c.kind == ChangeKind::Mode)
            line += "  " + octal(c.old_mode) + " -> " + octal(c.new_mode);
        if (c.kind == ChangeKind::Refused) line += "  (" + c.why + ")";
        out += one_line(line) + "\n";
    }
    return out;
}

std::string format_changes_json(const std::vector<Change>& changes) {
    std::string out = "[";
    for (size_t i = 0; i < changes.size(); ++i) {
        const Change& c = changes[i];
        out += std::string(i ? "," : "") +
               "\n  {\"kind\": " + json_string(change_kind_name(c.kind)) +
               ", \"path\": " + json_string(c.path) + ", \"dir\": " + (c.dir ? "true" : "false");
        if (c.kind == ChangeKind::Renamed) out += ", \"from\": " + json_string(c.from);
        if (c.kind == ChangeKind::Mode)
            out += ", \"old_mode\": " + json_string(octal(c.old_mode)) +
                   ", \"new_mode\": " + json_string(octal(c.new_mode));
        if (c.kind == ChangeKind::Refused) out += ", \"why\": " + json_string(c.why);
        out += "}";
    }
    return out + (changes.empty() ? "]\n" : "\n]\n");
}

std::string format_change_records(const std::vector<Change>& changes) {
    std::string out;
    for (const auto& c : changes)
        out += std::to_string(static_cast<int>(c.kind)) + " " + encode_word(c.path) + " " +
               encode_word(c.from) + " " + (c.dir ? "1" : "0") + " " + std::to_string(c.old_mode) +
               " " + std::to_string(c.new_mode) + " " + std::to_string(c.since_ns) + " " +
               encode_word(c.why) + "\n";
    return out;
}

std::vector<Change> parse_change_records(const std::string& text) {
    std::vector<Change> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        int kind = -1, dir = 0;
        unsigned long old_mode = 0, new_mode = 0;
        long long since = 0;
        std::string path, from, why;
        if (!(words >> kind >> path >> from >> dir >> old_mode >> new_mode >> since >> why) ||
            kind < 0 || kind > static_cast<int>(ChangeKind::Refused))
            throw Error("internal error: a bad change record");
        Change c;
        c.kind = static_cast<ChangeKind>(kind);
        c.path = decode_word(path);
        c.from = decode_word(from);
        c.dir = dir != 0;
        c.old_mode = static_cast<mode_t>(old_mode);
        c.new_mode = static_cast<mode_t>(new_mode);
        c.since_ns = since;
        c.why = decode_word(why);
        out.push_back(std::move(c));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

std::vector<Change> scan_changes(int upper_fd, int src_fd, const ChangeMeta& m) {
    const int64_t created_ns = m.created_ns;
    std::vector<Change> out;
    // Directories still to read, relative to both roots; memory, not fds, grows with the tree.
    struct Pending {
        std::string rel;
        bool lower = true;     // SRC has a directory there to compare with
        bool opaque = false;   // what SRC holds there is hidden
        int64_t since_ns = 0;  // the directory's birth, for what an opaque one deletes
    };
    std::vector<Pending> todo = {{"", true, false, created_ns}};
    while (!todo.empty()) {
        Pending p = std::move(todo.back());
        todo.pop_back();
        UniqueFd up = open_beneath(upper_fd, p.rel, O_RDONLY | O_DIRECTORY);
        if (!up) {
            // Gone meanwhile (a writer still at it), or out of fds: never taken for "nothing".
            if (errno != EACCES && errno != ENOENT)
                throw Error(
                    "read " + (p.rel.empty() ? "the upper layer" : p.rel) + " in the change set",
                    errno);
            // A directory the program made unreadable (chmod 000): what it holds is not seen.
            if (errno == EACCES) {
                Change c;
                c.kind = ChangeKind::Refused;
                c.path = p.rel;
                c.dir = true;
                c.why = "unreadable in the change set: what it holds cannot be applied";
                out.push_back(c);
            }
            continue;
        }
        UniqueFd low;
        if (p.lower) low = open_beneath(src_fd, p.rel, O_RDONLY | O_DIRECTORY);
        if (p.lower && !low && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
            throw Error("read " + (p.rel.empty() ? m.src : p.rel), errno);
        const std::vector<std::string> names = list_dir(up.get());
        for (const auto& name : names) {
            const std::string rel = join(p.rel, name);
            struct stat su {
            }, sl{};
            EntryFacts u = facts_at(up.get(), name, su, true, m.xattrs);
            EntryFacts l = facts_at(low.get(), name, sl, false);
            if (p.opaque && u.type == EntryType::Dir) l = EntryFacts{};
            if (u.type == EntryType::File && l.type == EntryType::File)
                u.same_data = same_file_data(up.get(), low.get(), name, su.st_size, sl.st_size);
            Change c;
            c.path = rel;
            c.kind = classify_entry(rel, u, l, c.why);
            c.dir = u.type == EntryType::Dir ||
                    (u.type == EntryType::Whiteout && l.type == EntryType::Dir);
            c.old_mode = l.mode;
            c.new_mode = u.mode;
            c.since_ns = birth_ns(up.get(), name, created_ns);
            if (c.kind != ChangeKind::None) out.push_back(c);
            if (u.type == EntryType::Dir)
                todo.push_back({rel, l.type == EntryType::Dir && !u.opaque && !p.opaque, u.opaque,
                                c.since_ns});
            if (u.type == EntryType::Dir && u.opaque && l.type == EntryType::Dir && !p.opaque) {
                // Recreated over SRC's: what SRC holds there and the layer does not is gone.
                UniqueFd lowdir = open_beneath(src_fd, rel, O_RDONLY | O_DIRECTORY);
                UniqueFd updir = open_beneath(upper_fd, rel, O_RDONLY | O_DIRECTORY);
                if ((!lowdir || !updir) && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
                    throw Error("read " + rel, errno);
                if (lowdir && updir)
                    for (const auto& gone : list_dir(lowdir.get())) {
                        struct stat s1, s2;
                        if (fstatat(updir.get(), gone.c_str(), &s1, AT_SYMLINK_NOFOLLOW) == 0)
                            continue;
                        Change d;
                        d.kind = ChangeKind::Deleted;
                        d.path = join(rel, gone);
                        d.dir =
                            fstatat(lowdir.get(), gone.c_str(), &s2, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISDIR(s2.st_mode);
                        d.since_ns = c.since_ns;
                        out.push_back(d);
                    }
            }
        }
    }
    std::sort(out.begin(), out.end(),
              [](const Change& a, const Change& b) { return a.path < b.path; });

    // Renames, where they can be seen: overlayfs keeps none (no redirects), so a file deleted
    // and a file added with the same bytes are taken for one. Compared by size first; at most a
    // bounded number of byte comparisons.
    std::multimap<off_t, size_t> deleted;  // size -> index
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i].kind != ChangeKind::Deleted || out[i].dir) continue;
        struct stat st;
        if (stat_beneath(src_fd, out[i].path, st) && S_ISREG(st.st_mode))
            deleted.emplace(st.st_size, i);
    }
    size_t budget = 1000;
    std::vector<bool> gone(out.size(), false);
    for (size_t i = 0; i < out.size() && !deleted.empty() && budget; ++i) {
        Change& a = out[i];
        if (a.kind != ChangeKind::Added || a.dir) continue;
        struct stat su;
        UniqueFd uf = open_regular(upper_fd, a.path, &su);
        if (!uf) continue;
        auto range = deleted.equal_range(su.st_size);
        for (auto it = range.first; it != range.second && budget; ++it, --budget) {
            UniqueFd lf = open_regular(src_fd, out[it->second].path);
            if (!lf || lseek(uf.get(), 0, SEEK_SET) != 0 || !same_bytes(uf.get(), lf.get()))
                continue;
            a.kind = ChangeKind::Renamed;
            a.from = out[it->second].path;
            a.since_ns = std::min(a.since_ns, out[it->second].since_ns);
            gone[it->second] = true;
            deleted.erase(it);
            break;
        }
    }
    std::vector<Change> kept;
    for (size_t i = 0; i < out.size(); ++i)
        if (!gone[i]) kept.push_back(std::move(out[i]));
    return kept;
}

// ---------------------------------------------------------------------------------------------

namespace {

struct Applier {
    int upper;
    int src;
    const ApplyOptions& opts;
    unsigned tmp_count = 0;

    // The directory holding rel in SRC, made (with the upper layer's modes, setuid and setgid
    // left out) where missing; each step beneath the last, never through a link.
    UniqueFd src_parent(const std::string& rel) {
        std::vector<std::string> parts = path_components("/" + rel);
        parts.pop_back();
        UniqueFd cur(check(fcntl(src, F_DUPFD_CLOEXEC, 0), "dup"));
        std::string at;
        for (const auto& name : parts) {
            at = join(at, name);
            UniqueFd next(sys_openat2(cur.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                      0, kBeneath));
            if (!next && errno == ENOENT) {
                struct stat st;
                mode_t mode = 0755;
                if (stat_beneath(upper, at, st) && S_ISDIR(st.st_mode)) mode = st.st_mode & 0777;
                if (mkdirat(cur.get(), name.c_str(), mode) != 0 && errno != EEXIST)
                    throw Error("create " + at, errno);
                next.reset(sys_openat2(cur.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                       0, kBeneath));
            }
            if (!next)
                throw Error(at + ": " +
                            (errno == ELOOP
                                 ? std::string("a symbolic link on the host (not followed)")
                             : errno == EXDEV ? std::string("another file system mounted there")
                                              : std::string(strerror(errno))));
            cur = std::move(next);
        }
        return cur;
    }

    UniqueFd upper_parent(const std::string& rel) {
        return open_beneath(upper, parent_of(rel), O_RDONLY | O_DIRECTORY);
    }

    static std::string parent_of(const std::string& rel) {
        size_t s = rel.rfind('/');
        return s == std::string::npos ? "" : rel.substr(0, s);
    }
    static std::string name_of(const std::string& rel) {
        size_t s = rel.rfind('/');
        return s == std::string::npos ? rel : rel.substr(s + 1);
    }

    void remove_host(int parent, const std::string& name) {
        if (unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT) return;
        if (errno != EISDIR && errno != EPERM) throw Error("remove " + name, errno);
        remove_tree_at(parent, name);
    }

    std::string tmp_name() {
        return ".kakuri-apply-" + std::to_string(getpid()) + "-" + std::to_string(tmp_count++);
    }

    // Replaces (or makes) name in parent with tmp, atomically; a directory there goes first.
    void put(int parent, const std::string& tmp, const std::string& name, const std::string& rel) {
        struct stat st;
        if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            remove_tree_at(parent, name);
        if (renameat(parent, tmp.c_str(), parent, name.c_str()) != 0) {
            int err = errno;
            unlinkat(parent, tmp.c_str(), 0);
            throw Error("replace " + rel, err);
        }
    }

    // The data of from, its holes left holes: applying a file never takes more of the disk
    // than the change set holds of it (a program's `truncate -s 1T` is not a terabyte of
    // zeros on the host).
    void copy_file(int from, int to, off_t size, const std::string& rel) {
        for (off_t at = 0; at < size;) {
            off_t data = lseek(from, at, SEEK_DATA);
            if (data < 0 && errno == ENXIO) break;  // a hole to the end
            if (data < 0) throw Error("read " + rel + " in the change set", errno);
            off_t hole = lseek(from, data, SEEK_HOLE);
            if (hole < 0) throw Error("read " + rel + " in the change set", errno);
            copy_range(from, to, data, std::min(hole, size) - data, rel);
            at = hole;
        }
        check(ftruncate(to, size), "write " + rel);
    }

    void copy_range(int from, int to, off_t at, off_t len, const std::string& rel) {
        off_t in = at, out = at;
        while (len > 0) {
            ssize_t n = copy_file_range(from, &in, to, &out,
                                        static_cast<size_t>(std::min<off_t>(len, 1 << 30)), 0);
            if (n == 0) return;  // the file shrank meanwhile
            if (n > 0) {
                len -= n;
                continue;
            }
            if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                throw Error("copy " + rel, errno);
            break;
        }
        static char buf[65536];
        while (len > 0) {
            ssize_t n = pread(from, buf, static_cast<size_t>(std::min<off_t>(len, sizeof buf)), in);
            if (n < 0) throw Error("read " + rel + " in the change set", errno);
            if (n == 0) return;
            for (ssize_t done = 0; done < n;) {
                ssize_t m = pwrite(to, buf + done, static_cast<size_t>(n - done), out);
                if (m < 0) throw Error("write " + rel, errno);
                done += m;
                out += m;
            }
            in += n;
            len -= n;
        }
    }

    void file(const Change& c) {
        struct stat st;
        UniqueFd in = open_regular(upper, c.path, &st);
        if (!in && errno == EINVAL)
            throw Error(c.path + ": not a regular file in the change set any more");
        if (!in) throw Error("read " + c.path + " in the change set", errno);
        UniqueFd parent = src_parent(c.path);
        const std::string tmp = tmp_name();
        UniqueFd out(::openat(parent.get(), tmp.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) throw Error("create a file beside " + c.path, errno);
        try {
            copy_file(in.get(), out.get(), st.st_size, c.path);
            if (opts.as_root) check(fchown(out.get(), st.st_uid, st.st_gid), "chown " + c.path);
            // Never setuid or setgid (nor sticky): a program's file becomes no one's privilege.
            check(fchmod(out.get(), st.st_mode & 0777), "chmod " + c.path);
            const struct timespec times[2] = {st.st_atim, st.st_mtim};
            futimens(out.get(), times);
        } catch (...) {
            unlinkat(parent.get(), tmp.c_str(), 0);
            throw;
        }
        put(parent.get(), tmp, name_of(c.path), c.path);
    }

    void link(const Change& c) {
        UniqueFd up = upper_parent(c.path);
        std::string target(PATH_MAX, '\0');
        ssize_t n =
            up ? readlinkat(up.get(), name_of(c.path).c_str(), &target[0], target.size()) : -1;
        if (n <= 0) throw Error(c.path + ": not a symbolic link in the change set any more");
        target.resize(static_cast<size_t>(n));
        if (!link_stays_inside(c.path, target))
            throw Error(c.path + ": a symbolic link leading out of the directory");
        UniqueFd parent = src_parent(c.path);
        const std::string tmp = tmp_name();
        check(symlinkat(target.c_str(), parent.get(), tmp.c_str()), "create link " + c.path);
        put(parent.get(), tmp, name_of(c.path), c.path);
    }

    // Directories get their modes last, deepest first: one made or changed to 0500 (or 000)
    // must still take what the change set puts below it.
    std::vector<std::pair<std::string, mode_t>> dir_modes;

    void dir(const Change& c) {
        struct stat st;
        if (!stat_beneath(upper, c.path, st) || !S_ISDIR(st.st_mode))
            throw Error(c.path + ": not a directory in the change set any more");
        UniqueFd parent = src_parent(c.path);
        const std::string name = name_of(c.path);
        struct stat hs;
        if (fstatat(parent.get(), name.c_str(), &hs, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(hs.st_mode))
            remove_host(parent.get(), name);
        if (mkdirat(parent.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
            throw Error("create " + c.path, errno);
        UniqueFd d(
            sys_openat2(parent.get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, kBeneath));
        if (!d) throw Error("open " + c.path, errno);
        if (opts.as_root)
            check(fchownat(d.get(), "", st.st_uid, st.st_gid, AT_EMPTY_PATH), "chown " + c.path);
        dir_modes.emplace_back(c.path, st.st_mode & 0777);
    }

    // chmod of what is at rel in SRC (looked at, never opened: a device node put there is not
    // its driver's to see), a file or a directory. A file with other names (a hard link, maybe
    // to one outside SRC) is replaced by the change set's copy instead: chmod would change
    // every name of it.
    void set_mode(const std::string& rel, mode_t mode, const Change* c) {
        UniqueFd parent = src_parent(rel);
        UniqueFd t(sys_openat2(parent.get(), name_of(rel).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC,
                               0, kBeneath));
        struct stat st;
        if (!t || fstat(t.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            throw Error(rel + ": not what it was on the host", errno);
        if (c && S_ISREG(st.st_mode) && st.st_nlink > 1) return file(*c);
        check(fchmodat(AT_FDCWD, fd_path(t.get()).c_str(), mode & 0777, 0), "chmod " + rel);
    }

    void mode(const Change& c) { set_mode(c.path, c.new_mode, &c); }

    void deleted(const std::string& rel) {
        UniqueFd parent = src_parent(rel);
        remove_host(parent.get(), name_of(rel));
    }

    // The applied change leaves the upper layer (directories stay: what is below may not be
    // applied yet; an empty one is no change).
    void forget(const std::string& rel) {
        UniqueFd up = upper_parent(rel);
        if (!up) return;
        struct stat st;
        const std::string name = name_of(rel);
        if (fstatat(up.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
            return;
        unlinkat(up.get(), name.c_str(), 0);
    }

    void apply(const Change& c) {
        struct stat st {};
        const bool up_ok = stat_beneath(upper, c.path, st);
        switch (c.kind) {
        case ChangeKind::Deleted:
            deleted(c.path);
            forget(c.path);
            return;
        case ChangeKind::Renamed:
            deleted(c.from);
            forget(c.from);
            file(c);
            forget(c.path);
            return;
        case ChangeKind::Mode:
            if (up_ok && S_ISDIR(st.st_mode)) {
                dir_modes.emplace_back(c.path, c.new_mode & 0777);
                return;
            }
            mode(c);
            forget(c.path);
            return;
        case ChangeKind::Added:
        case ChangeKind::Modified:
            if (!up_ok) throw Error(c.path + ": gone from the change set", errno);
            if (S_ISDIR(st.st_mode))
                dir(c);
            else if (S_ISLNK(st.st_mode)) {
                link(c);
                forget(c.path);
            } else {
                file(c);
                forget(c.path);
            }
            return;
        default: return;
        }
    }

    // The host's version of rel: does it exist, and when was it last changed (ctime)?
    bool host_stat(const std::string& rel, struct stat& st) {
        UniqueFd parent = open_beneath(src, parent_of(rel), O_RDONLY | O_DIRECTORY);
        return parent && fstatat(parent.get(), name_of(rel).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    }

    bool conflicts(const Change& c) {
        struct stat st;
        for (const std::string* p : {&c.path, &c.from}) {
            if (p->empty()) continue;
            const bool there = host_stat(*p, st);
            if (is_conflict(there, there ? ns_of(st.st_ctim) : 0, c.since_ns)) return true;
            // A directory deleted goes with all it holds: a file edited in place below it
            // changed the file, not the directory.
            if (there && S_ISDIR(st.st_mode) && c.kind == ChangeKind::Deleted &&
                changed_below(*p, c.since_ns))
                return true;
        }
        return false;
    }

    // Was anything below the host's directory rel changed at or after since_ns? Walked
    // beneath SRC without following a link, an fd at a time.
    bool changed_below(const std::string& rel, int64_t since_ns) {
        std::vector<std::string> todo = {rel};
        while (!todo.empty()) {
            const std::string at = std::move(todo.back());
            todo.pop_back();
            UniqueFd d = open_beneath(src, at, O_RDONLY | O_DIRECTORY);
            if (!d) continue;
            for (const auto& name : list_dir(d.get())) {
                struct stat st;
                if (fstatat(d.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
                if (is_conflict(true, ns_of(st.st_ctim), since_ns)) return true;
                if (S_ISDIR(st.st_mode)) todo.push_back(join(at, name));
            }
        }
        return false;
    }
};

}  // namespace

ApplyResult apply_changes(int upper_fd, int src_fd, const std::vector<Change>& chosen,
                          const ApplyOptions& opts) {
    ApplyResult r;
    Applier a{upper_fd, src_fd, opts, 0, {}};
    std::vector<const Change*> todo;
    for (const auto& c : chosen) {
        std::string why = c.kind == ChangeKind::Refused ? c.why : "";
        for (const std::string* p : {&c.path, &c.from})
            if (why.empty() && !p->empty() && opts.refuse) why = opts.refuse(*p);
        if (!why.empty()) {
            Change x = c;
            x.why = why;
            r.refused.push_back(x);
            continue;
        }
        if (a.conflicts(c)) r.conflicts.push_back(c);
        todo.push_back(&c);
    }
    if (!r.conflicts.empty() && !opts.force) return r;
    for (const Change* c : todo) {
        try {
            a.apply(*c);
            ++r.applied;
        } catch (const Error& e) {
            Change x = *c;
            x.why = e.what();
            r.failed.push_back(x);
        }
    }
    std::sort(a.dir_modes.begin(), a.dir_modes.end());
    for (auto it = a.dir_modes.rbegin(); it != a.dir_modes.rend(); ++it) {
        try {
            a.set_mode(it->first, it->second, nullptr);
        } catch (const Error& e) {
            Change x;
            x.kind = ChangeKind::Mode;
            x.path = it->first;
            x.dir = true;
            x.why = e.what();
            r.failed.push_back(x);
        }
    }
    return r;
}

// ---------------------------------------------------------------------------------------------

namespace {

// diff(1)'s output, read from its pipe and printed as terminal_text, a line at a time.
void relay_escaped(int from, FILE* out) {
    std::string pending;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(from, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending.append(buf, static_cast<size_t>(n));
        const size_t end = pending.rfind('\n');
        if (end == std::string::npos) continue;
        std::fputs(terminal_text(pending.substr(0, end + 1)).c_str(), out);
        pending.erase(0, end + 1);
    }
    std::fputs(terminal_text(pending).c_str(), out);
}

}  // namespace

void diff_change(int upper_fd, int src_fd, const Change& c, FILE* out) {
    UniqueFd before, after;
    struct stat sb {
    }, sa{};
    const std::string old_rel = c.kind == ChangeKind::Renamed ? c.from : c.path;
    if (c.kind == ChangeKind::Modified || c.kind == ChangeKind::Deleted ||
        c.kind == ChangeKind::Renamed)
        before = open_regular(src_fd, old_rel, &sb);
    if (c.kind == ChangeKind::Added || c.kind == ChangeKind::Modified ||
        c.kind == ChangeKind::Renamed)
        after = open_regular(upper_fd, c.path, &sa);
    const bool old_file = static_cast<bool>(before), new_file = static_cast<bool>(after);
    const std::string label = one_line(c.path);
    if (c.dir || c.kind == ChangeKind::Mode || c.kind == ChangeKind::Refused ||
        (!old_file && !new_file)) {
        std::fputs(format_changes({c}).c_str(), out);
        return;
    }
    // diff(1) holds both files in memory: a file the size of the disk is not for it.
    const off_t size = std::max(old_file ? sb.st_size : 0, new_file ? sa.st_size : 0);
    if (size > kDiffMax) {
        std::fprintf(out, "Large file %s %s: %lld bytes, not diffed (more than %lld)\n",
                     label.c_str(), change_kind_name(c.kind), static_cast<long long>(size),
                     static_cast<long long>(kDiffMax));
        return;
    }
    // Binary: a NUL in the first 8 KiB, as diff and git decide.
    auto binary = [](int fd) {
        if (fd < 0) return false;
        char buf[8192];
        ssize_t n = pread(fd, buf, sizeof buf, 0);
        return n > 0 && memchr(buf, 0, static_cast<size_t>(n)) != nullptr;
    };
    if (binary(before.get()) || binary(after.get())) {
        std::fprintf(out, "Binary file %s %s\n", label.c_str(), change_kind_name(c.kind));
        return;
    }
    // diff(1) of diffutils (Essential in Debian): the host's program, given the two files as
    // descriptors opened here (never a path of the change set) and run with nothing of the
    // change set's as its program. What it prints comes back through kakuri, escaped.
    std::fflush(out);
    const std::string la = old_file ? "a/" + one_line(old_rel) : "/dev/null";
    const std::string lb = new_file ? "b/" + label : "/dev/null";
    int p[2];
    check(pipe2(p, O_CLOEXEC), "create a pipe");
    UniqueFd from_diff(p[0]), to_kakuri(p[1]);
    // The descriptors cross exec: cleared of O_CLOEXEC for the child only, through dup2 there.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_kakuri.get(), 1);
    if (before) posix_spawn_file_actions_adddup2(&fa, before.get(), 3);
    if (after) posix_spawn_file_actions_adddup2(&fa, after.get(), 4);
    const std::string a3 = old_file ? "/proc/self/fd/3" : "/dev/null";
    const std::string b4 = new_file ? "/proc/self/fd/4" : "/dev/null";
    std::vector<std::string> args = {"diff", "-u", "--label", la, "--label", lb, "--", a3, b4};
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    char* envp[] = {const_cast<char*>("LC_ALL=C"), nullptr};
    pid_t pid = 0;
    int rc = -1;
    for (const char* prog : {"/usr/bin/diff", "/bin/diff"}) {
        rc = posix_spawn(&pid, prog, &fa, nullptr, argv.data(), envp);
        if (rc == 0) break;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw Error("--diff needs diff(1) (Debian: diffutils)", rc);
    to_kakuri.reset();
    relay_escaped(from_diff.get(), out);
    std::fflush(out);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
        throw Error("diff of " + shown(c.path) + " failed");
}

// ---------------------------------------------------------------------------------------------

ChangeStore::ChangeStore(std::string dir) : given_(dir), caller_(getuid()), dir_(std::move(dir)) {
    open_dir();
}

void ChangeStore::open_dir() const {
    if (fd_) return;
    Trusted t = open_trusted_dir(given_, caller_, "changes_dir");
    if (!t.fd) return;  // made by the first make
    fd_ = std::move(t.fd);
    dir_ = t.path;
}

namespace {

std::string process_word() {
    pid_t pid = getpid();
    return std::to_string(pid) + "-" + std::to_string(process_start_time(pid));
}

bool maker_gone(const std::string& tag) {
    char* end = nullptr;
    unsigned long long pid = strtoull(tag.c_str(), &end, 10);
    if (end == tag.c_str() || *end != '-' || pid == 0 || pid > INT_MAX) return true;
    unsigned long long start = strtoull(end + 1, &end, 10);
    if (*end != '-') return true;
    return process_start_time(static_cast<pid_t>(pid)) != start;
}

}  // namespace

ChangeMeta ChangeStore::make(const std::string& src, const std::string& dst,
                             const std::string& container, bool userxattr, bool subids) {
    if (!fd_) {
        Trusted t = make_trusted_dir(given_, caller_);
        fd_ = std::move(t.fd);
        dir_ = t.path;
    }
    UniqueFd s(sys_openat2(AT_FDCWD, src.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                           RESOLVE_NO_SYMLINKS));
    struct stat sst;
    if (!s || fstat(s.get(), &sst) != 0) throw Error("--overlay " + src, errno);
    const std::string tmp = kNewPrefix + process_word() + "-" + std::to_string(sst.st_ino);
    check(mkdirat(fd_.get(), tmp.c_str(), 0700), "create " + dir_ + "/" + tmp);
    ScopeGuard undo([&] {
        try {
            remove_tree_at(fd_.get(), tmp);
        } catch (const Error&) {
        }
    });
    UniqueFd t(::openat(fd_.get(), tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!t) throw Error("open " + dir_ + "/" + tmp, errno);
    // The upper layer's top is what the overlay's top shows: SRC's mode and, as real root (no
    // user namespace to map it), its owner.
    check(mkdirat(t.get(), "upper", 0700), "create the upper layer");
    check(mkdirat(t.get(), "work", 0700), "create the work directory");
    UniqueFd up(::openat(t.get(), "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!up) throw Error("open the upper layer", errno);
    if (getuid() == 0) check(fchown(up.get(), sst.st_uid, sst.st_gid), "chown the upper layer");
    check(fchmod(up.get(), sst.st_mode & 07777), "chmod the upper layer");
    ChangeMeta m;
    m.src = src;
    m.dst = dst;
    m.container = container;
    m.xattrs = userxattr ? "user" : "trusted";
    m.subids = subids;
    struct timespec now;
    // The clock file systems stamp with: a host change right after this is never earlier.
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    m.created_ns = ns_of(now);
    unsigned next = 1;
    for (const auto& e : list_dir(fd_.get())) {
        unsigned id = 0;
        if (parse_change_id(e, id)) next = std::max(next, id + 1);
    }
    for (;; ++next) {
        m.id = next;
        std::string text = format_change_meta(m);
        UniqueFd f(::openat(t.get(), ".meta.tmp",
                            O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f || ::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw Error("write the change set's meta", errno);
        check(renameat(t.get(), ".meta.tmp", t.get(), kMetaFile), "write the change set's meta");
        if (renameat2(fd_.get(), tmp.c_str(), fd_.get(), std::to_string(next).c_str(),
                      RENAME_NOREPLACE) == 0)
            break;
        if (errno != EEXIST) throw Error("create change set " + std::to_string(next), errno);
    }
    undo.dismiss();
    return m;
}

UniqueFd ChangeStore::open_set(unsigned id) const {
    open_dir();
    if (!fd_) throw Error("no change set " + std::to_string(id) + " (see: kakuri changes)");
    UniqueFd d(::openat(fd_.get(), std::to_string(id).c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) {
        const int err = errno;
        struct stat st;
        if (err == ENOENT)
            throw Error("no change set " + std::to_string(id) + " (see: kakuri changes)");
        if (fstatat(fd_.get(), std::to_string(id).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(st.st_mode))
            throw Refusal("refusing " + path(id) + ": " +
                          (S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory"));
        throw Error("open " + path(id), err);
    }
    struct stat st;
    check(fstat(d.get(), &st), "stat " + path(id));
    std::string why = distrust(st, caller_, TrustAs::Directory);
    if (!why.empty()) throw Refusal("refusing " + path(id) + ": " + why);
    return d;
}

ChangeMeta ChangeStore::meta(unsigned id) const {
    UniqueFd d = open_set(id);
    UniqueFd f(::openat(d.get(), kMetaFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    std::string text;
    if (!f || fstat(f.get(), &st) != 0) throw Error("read " + path(id) + "/meta", errno);
    std::string why = S_ISREG(st.st_mode) ? distrust(st, caller_, TrustAs::File) : "not a file";
    if (!why.empty()) throw Refusal("refusing " + path(id) + "/meta: " + why);
    if (!read_all(f.get(), text)) throw Error("read " + path(id) + "/meta", errno);
    ChangeMeta m = parse_change_meta(text);
    if (m.id != id) throw Error(path(id) + "/meta names another change set");
    return m;
}

std::vector<ChangeMeta> ChangeStore::list() const {
    std::vector<ChangeMeta> out;
    open_dir();
    if (!fd_) return out;
    std::vector<unsigned> ids;
    for (const auto& e : list_dir(fd_.get())) {
        unsigned id = 0;
        if (parse_change_id(e, id)) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    for (unsigned id : ids) out.push_back(meta(id));
    return out;
}

void ChangeStore::remove(unsigned id, const LayerRunner& owner) const {
    UniqueFd d = open_set(id);
    const std::string trash = kTrashPrefix + process_word() + "-" + std::to_string(id);
    check(renameat(fd_.get(), std::to_string(id).c_str(), fd_.get(), trash.c_str()),
          "remove change set " + std::to_string(id));
    d.reset();
    owner([&] { remove_tree_at(fd_.get(), trash); });
}

void ChangeStore::empty(unsigned id, const LayerRunner& owner) const {
    UniqueFd d = open_set(id);
    struct stat st;
    check(fstatat(d.get(), "upper", &st, AT_SYMLINK_NOFOLLOW), "stat " + path(id) + "/upper");
    owner([&] {
        remove_tree_at(d.get(), "upper");
        remove_tree_at(d.get(), "work");
    });
    check(mkdirat(d.get(), "work", 0700), "create " + path(id) + "/work");
    check(mkdirat(d.get(), "upper", 0700), "create " + path(id) + "/upper");
    UniqueFd up(::openat(d.get(), "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!up) throw Error("open " + path(id) + "/upper", errno);
    if (getuid() == 0) check(fchown(up.get(), st.st_uid, st.st_gid), "chown the upper layer");
    check(fchmod(up.get(), st.st_mode & 07777), "chmod the upper layer");
}

void ChangeStore::clean_leftovers() const {
    open_dir();
    if (!fd_) return;
    for (const auto& e : list_dir(fd_.get())) {
        size_t prefix = e.rfind(kNewPrefix, 0) == 0     ? strlen(kNewPrefix)
                        : e.rfind(kTrashPrefix, 0) == 0 ? strlen(kTrashPrefix)
                                                        : 0;
        if (!prefix || !maker_gone(e.substr(prefix))) continue;
        try {
            remove_tree_at(fd_.get(), e);
        } catch (const Error&) {
        }
    }
}

}  // namespace kakuri
