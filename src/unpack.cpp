// unpack: an image's files written beneath its directory, each parent opened with openat2
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): no entry of an archive, whatever the entries before
// it made, is ever written through a link or outside the directory.
#include "unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <unordered_set>

#include "imageformat.hpp"
#include "store.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

constexpr unsigned long long kBeneath =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
// How often free space is looked at: every this many bytes written or entries made.
constexpr uint64_t kCheckBytes = 32 << 20;
constexpr uint64_t kCheckEntries = 4096;

struct Meta {
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t mode = 0;
    struct timespec mtime = {0, 0};
};

std::string parent_of(const std::string& path) {
    size_t s = path.rfind('/');
    return s == std::string::npos ? "" : path.substr(0, s);
}

std::string base_of(const std::string& path) {
    size_t s = path.rfind('/');
    return s == std::string::npos ? path : path.substr(s + 1);
}

// Writes entries beneath root; every failure names the entry.
class Writer {
public:
    Writer(int root, const UnpackOptions& o, UnpackStats& s) : root_(root), o_(o), s_(s) {}

    void dir(const std::string& path, const Meta& m) {
        if (path.empty()) return;  // the image's own directory stays as kakuri made it
        int p = parent(path, true);
        const std::string base = base_of(path);
        struct stat st;
        if (fstatat(p, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
            replace(p, base);
        if (mkdirat(p, base.c_str(), 0700) != 0 && errno != EEXIST) fail(path, "make", errno);
        UniqueFd d(openat(p, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) fail(path, "open", errno);
        owner(d.get(), "", m, path);
        if (fchmod(d.get(), m.mode & 07777) != 0) fail(path, "set the mode of", errno);
        made(path);
    }

    // data writes the file's contents to the fd it is given.
    void file(const std::string& path, const Meta& m, const std::function<void(int)>& data) {
        if (path.empty()) fail(path, "write", EISDIR);
        int p = parent(path, true);
        const std::string base = base_of(path);
        replace(p, base);
        UniqueFd f(
            openat(p, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f) fail(path, "create", errno);
        data(f.get());
        owner(f.get(), "", m, path);
        if (fchmod(f.get(), m.mode & 07777) != 0) fail(path, "set the mode of", errno);
        const struct timespec t[2] = {m.mtime, m.mtime};
        futimens(f.get(), t);
        made(path);
    }

    void symlink(const std::string& path, const std::string& target, const Meta& m) {
        if (path.empty()) fail(path, "replace", EISDIR);
        int p = parent(path, true);
        const std::string base = base_of(path);
        replace(p, base);
        // The target is text, never followed here: kakuri writes nothing through a link.
        if (symlinkat(target.c_str(), p, base.c_str()) != 0) fail(path, "make", errno);
        owner(p, base, m, path);
        const struct timespec t[2] = {m.mtime, m.mtime};
        utimensat(p, base.c_str(), t, AT_SYMLINK_NOFOLLOW);
        made(path);
    }

    void hardlink(const std::string& path, const std::string& target) {
        if (path.empty() || target.empty()) fail(path, "link", EISDIR);
        if (path == target) return;
        UniqueFd tp = open_beneath(parent_of(target));
        if (!tp)
            throw Error("archive entry " + shown(path) + ": a hard link to " + shown(target) +
                        ", which is not in the image (or is reached through a link)");
        int p = parent(path, true);
        const std::string base = base_of(path);
        replace(p, base);
        // Without AT_SYMLINK_FOLLOW: a link to a symbolic link is a link to the link itself.
        if (linkat(tp.get(), base_of(target).c_str(), p, base.c_str(), 0) != 0)
            throw Error("archive entry " + shown(path) + ": cannot link to " + shown(target),
                        errno);
        made(path);
    }

    void fifo(const std::string& path, const Meta& m) {
        int p = parent(path, true);
        const std::string base = base_of(path);
        replace(p, base);
        if (mkfifoat(p, base.c_str(), 0600) != 0) fail(path, "make", errno);
        owner(p, base, m, path);
        if (fchmodat(p, base.c_str(), m.mode & 07777, 0) != 0) fail(path, "set the mode of", errno);
        made(path);
    }

    void whiteout(const Whiteout& w) {
        if (w.kind == WhiteoutKind::Remove) {
            UniqueFd p = open_beneath(parent_of(w.target));
            if (!p) return;  // nothing below to remove
            replace(p.get(), base_of(w.target));
            return;
        }
        // Opaque: what the layers below have in the directory goes; what this layer put
        // there (entries may come before the marker) stays.
        UniqueFd d =
            w.target.empty() ? UniqueFd(fcntl(root_, F_DUPFD_CLOEXEC, 3)) : open_beneath(w.target);
        if (!d) return;
        std::vector<std::string> gone;
        UniqueFd list(openat(d.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        DIR* dir = fdopendir(list.get());
        if (!dir) fail(w.target, "read", errno);
        list.release();
        std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, closedir);
        while (struct dirent* e = readdir(dir)) {
            const std::string n = e->d_name;
            if (n == "." || n == "..") continue;
            const std::string child = w.target.empty() ? n : w.target + "/" + n;
            if (!made_.count(child)) gone.push_back(n);
        }
        for (const auto& n : gone) replace(d.get(), n);
    }

    // A new entry is about to be written, or bytes of one were: now and then, a look at the
    // free space (a file of any size is looked at as it grows, not only before).
    void count() {
        s_.entries++;
        if (++since_entries_ >= kCheckEntries) check_space();
        if (o_.progress && s_.entries % 256 == 0) o_.progress(s_);
    }
    void wrote(uint64_t bytes) {
        s_.bytes += bytes;
        since_bytes_ += bytes;
        if (since_bytes_ >= kCheckBytes) {
            check_space();
            if (o_.progress) o_.progress(s_);
        }
    }

    void check_space() {
        since_entries_ = since_bytes_ = 0;
        if (!o_.reserve) return;
        struct statvfs v;
        if (fstatvfs(root_, &v) != 0) return;
        const uint64_t free_bytes = uint64_t(v.f_bavail) * v.f_frsize;
        if (free_bytes < o_.reserve || (v.f_files && v.f_favail < 1024))
            throw Error(std::string(o_.what) + ": stopped: the file system of images_dir is " +
                        "nearly full (" + std::to_string(free_bytes >> 20) + " MiB free, " +
                        std::to_string(o_.reserve >> 20) + " MiB kept free)");
    }

private:
    [[noreturn]] void fail(const std::string& path, const char* verb, int err) {
        throw Error(
            "archive entry " + shown(path.empty() ? "." : path) + ": cannot " + verb + " it", err);
    }

    // The entry's directory, beneath root and through no link, made when missing; cached
    // while entries come one directory after another (a removal forgets it).
    int parent(const std::string& path, bool make) {
        const std::string dir = parent_of(path);
        if (cached_ && cached_dir_ == dir) return cached_.get();
        UniqueFd fd = open_beneath(dir);
        if (!fd) fd = walk(dir, path, make);
        cached_ = std::move(fd);
        cached_dir_ = dir;
        return cached_.get();
    }

    UniqueFd open_beneath(const std::string& dir) {
        if (dir.empty()) return UniqueFd(fcntl(root_, F_DUPFD_CLOEXEC, 3));
        return UniqueFd(
            sys_openat2(root_, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, kBeneath));
    }

    // Component by component, making what is missing; a link or a file on the way is refused.
    UniqueFd walk(const std::string& dir, const std::string& path, bool make) {
        UniqueFd cur(fcntl(root_, F_DUPFD_CLOEXEC, 3));
        std::string done;
        size_t i = 0;
        while (i < dir.size()) {
            size_t j = dir.find('/', i);
            if (j == std::string::npos) j = dir.size();
            const std::string c = dir.substr(i, j - i);
            i = j + 1;
            done += (done.empty() ? "" : "/") + c;
            UniqueFd next(
                openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!next && errno == ENOENT && make) {
                if (mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST)
                    fail(done, "make", errno);
                next.reset(
                    openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            }
            if (!next) {
                const int err = errno;
                struct stat st;
                if (fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
                    if (S_ISLNK(st.st_mode))
                        throw Error("archive entry " + shown(path) + ": it goes through the " +
                                    "symbolic link " + shown(done) +
                                    ", which kakuri never follows");
                    if (!S_ISDIR(st.st_mode))
                        throw Error("archive entry " + shown(path) + ": " + shown(done) +
                                    " is not a directory");
                }
                fail(done, "open", err);
            }
            cur = std::move(next);
        }
        return cur;
    }

    void owner(int fd, const std::string& name, const Meta& m, const std::string& path) {
        if (!o_.owners) return;
        int rc = name.empty() ? fchown(fd, m.uid, m.gid)
                              : fchownat(fd, name.c_str(), m.uid, m.gid, AT_SYMLINK_NOFOLLOW);
        if (rc == 0) return;
        // An id this namespace does not map (no subordinate range): the file stays the caller's.
        if (errno == EINVAL || errno == EPERM) {
            s_.owners_lost++;
            return;
        }
        fail(path, "set the owner of", errno);
    }

    // Whatever is at name goes (a whole tree, never followed), unless it is a directory
    // about to be a directory again (dir() keeps it).
    void replace(int dirfd, const std::string& name) {
        struct stat st;
        if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
        if (S_ISDIR(st.st_mode)) {
            // dirfd is the cached parent (parent() returns it): it stays open through the
            // removal and stays cached; any other cached directory may lie in the removed tree.
            UniqueFd keep = std::move(cached_);
            std::string keep_dir = std::move(cached_dir_);
            remove_tree_at(dirfd, name);
            if (keep.get() == dirfd) {
                cached_ = std::move(keep);
                cached_dir_ = std::move(keep_dir);
            }
        } else if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
            throw Error("remove " + shown(name), errno);
        }
    }

    void made(const std::string& path) {
        if (o_.whiteouts) made_.insert(path);
    }

    int root_;
    const UnpackOptions& o_;
    UnpackStats& s_;
    UniqueFd cached_;
    std::string cached_dir_;
    std::unordered_set<std::string> made_;
    uint64_t since_bytes_ = 0, since_entries_ = 0;
};

// What libarchive reads: the archive's bytes from its start, in blocks, each hashed on its way
// when a digest is wanted, so that a layer is read once and the bytes checked are the bytes
// unpacked.
struct Source {
    int fd = -1;
    bool hash = false;
    Sha256 sum;
    std::vector<char> buf = std::vector<char>(1 << 16);

    // The next block's length (in buf), 0 at the end, -1 with errno.
    ssize_t next() {
        ssize_t r;
        do {
            r = ::read(fd, buf.data(), buf.size());
        } while (r < 0 && errno == EINTR);
        if (r > 0 && hash) sum.add(buf.data(), size_t(r));
        return r;
    }
};

la_ssize_t read_source(struct archive* a, void* data, const void** block) {
    Source* s = static_cast<Source*>(data);
    ssize_t r = s->next();
    if (r < 0) {
        archive_set_error(a, errno, "cannot read it: %s", strerror(errno));
        return -1;
    }
    *block = s->buf.data();
    return r;
}

struct ArchiveDeleter {
    void operator()(struct archive* a) const { archive_read_free(a); }
};
using Archive = std::unique_ptr<struct archive, ArchiveDeleter>;

// src outlives the archive: libarchive reads through it until archive_read_free.
Archive open_archive(int fd, Source& src, const char* what, bool hash) {
    if (lseek(fd, 0, SEEK_SET) < 0) throw Error(std::string(what) + ": cannot read it", errno);
    src.fd = fd;
    src.hash = hash;
    if (hash) src.sum = Sha256();
    Archive a(archive_read_new());
    if (!a) throw Error("libarchive: out of memory");
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_xz(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_bzip2(a.get());
    if (archive_read_open(a.get(), &src, nullptr, read_source, nullptr) != ARCHIVE_OK)
        throw Error(std::string(what) + ": " + archive_error_string(a.get()));
    return a;
}

[[noreturn]] void archive_fail(struct archive* a, const char* what) {
    const char* e = archive_error_string(a);
    throw Error(std::string(what) + ": " + (e ? e : "unreadable archive") +
                " (a corrupt or truncated archive)");
}

// The next entry, or false at the end; a warning is no error, anything worse is.
bool next_entry(struct archive* a, struct archive_entry** e, const char* what) {
    int rc = archive_read_next_header(a, e);
    if (rc == ARCHIVE_EOF) return false;
    if (rc < ARCHIVE_WARN) archive_fail(a, what);
    return true;
}

void write_all(int fd, const char* p, size_t n, off_t at, const std::string& path) {
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw Error("archive entry " + shown(path) + ": cannot write it", errno);
        p += w;
        n -= size_t(w);
        at += w;
    }
}

}  // namespace

void unpack_archive(int archive_fd, int root_fd, const UnpackOptions& o, UnpackStats& stats,
                    const std::function<void(const UnpackStats&)>& progress) {
    Source src;
    Archive a = open_archive(archive_fd, src, o.what, o.sha256 != nullptr);
    Writer w(root_fd, o, stats);
    w.check_space();
    struct archive_entry* e = nullptr;
    while (next_entry(a.get(), &e, o.what)) {
        const char* raw = archive_entry_pathname(e);
        const std::string path = entry_path(raw ? raw : "");
        const mode_t type = archive_entry_filetype(e);
        const int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
        w.count();
        if (progress && stats.entries % 1000 == 0) progress(stats);
        if (o.whiteouts) {
            Whiteout wo = whiteout_of(path);
            if (wo.kind != WhiteoutKind::None) {
                w.whiteout(wo);
                continue;
            }
        }
        Meta m;
        m.uid = uid_t(archive_entry_uid(e));
        m.gid = gid_t(archive_entry_gid(e));
        m.mode = archive_entry_perm(e);
        m.mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        if (const char* hl = archive_entry_hardlink(e)) {
            w.hardlink(path, entry_path(hl));
            continue;
        }
        switch (type) {
        case AE_IFDIR: w.dir(path, m); break;
        case AE_IFLNK: {
            const char* target = archive_entry_symlink(e);
            w.symlink(path, target ? target : "", m);
            break;
        }
        case AE_IFREG:
            w.file(path, m, [&](int fd) {
                const void* buf;
                size_t len;
                la_int64_t at;
                int rc;
                while ((rc = archive_read_data_block(a.get(), &buf, &len, &at)) == ARCHIVE_OK) {
                    write_all(fd, static_cast<const char*>(buf), len, off_t(at), path);
                    w.wrote(len);
                }
                if (rc != ARCHIVE_EOF) archive_fail(a.get(), o.what);
                // A sparse file's hole at its end.
                if (size > 0 && ftruncate(fd, off_t(size)) != 0)
                    throw Error("archive entry " + shown(path) + ": cannot write it", errno);
            });
            break;
        case AE_IFIFO:
            if (o.special) w.fifo(path, m);
            break;
        default: stats.devices++; break;  // device nodes, sockets: /dev is kakuri's
        }
    }
    if (o.sha256) {
        // What follows the archive's end (tar's padding, a compressor's trailer) is the blob's
        // too.
        for (;;) {
            ssize_t r = src.next();
            if (r < 0) throw Error(std::string(o.what) + ": cannot read it", errno);
            if (r == 0) break;
        }
        *o.sha256 = src.sum.hex();
    }
}

std::vector<std::string> archive_names(int archive_fd, size_t limit) {
    const char* what = "the archive";
    Source src;
    Archive a = open_archive(archive_fd, src, what, false);
    std::vector<std::string> out;
    struct archive_entry* e = nullptr;
    while (out.size() < limit && next_entry(a.get(), &e, what)) {
        const char* raw = archive_entry_pathname(e);
        out.push_back(raw ? raw : "");
    }
    return out;
}

namespace {

struct Copier {
    Writer& w;
    bool overlay_upper = false;
    const std::set<std::string>* known = nullptr;  // opaque directories found before
    std::map<std::pair<dev_t, ino_t>, std::string> links;

    static bool opaque(int dir) {
        char v = 0;
        for (const char* name : {"user.overlay.opaque", "trusted.overlay.opaque"})
            if (fgetxattr(dir, name, &v, 1) == 1 && v == 'y') return true;
        return false;
    }

    void tree(int dir, const std::string& at) {
        // A description of its own (not a dup, which shares the position): the directory is
        // read again later (an opaque one, a commit's second tree).
        UniqueFd list(openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        DIR* d = fdopendir(list.get());
        if (!d) throw Error("read " + shown(at.empty() ? "." : at), errno);
        list.release();
        std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
        while (struct dirent* de = readdir(d)) {
            const std::string n = de->d_name;
            if (n == "." || n == "..") continue;
            one(dir, n, at.empty() ? n : at + "/" + n);
        }
    }

    void one(int dir, const std::string& n, const std::string& path) {
        struct stat st;
        if (fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            throw Error("read " + shown(path), errno);
        Meta m{st.st_uid, st.st_gid, st.st_mode, st.st_mtim};
        w.count();
        // Before the links: overlayfs makes its whiteouts hard links of one inode (Linux 5.8).
        if (overlay_upper && S_ISCHR(st.st_mode) && st.st_rdev == 0)
            return w.whiteout({WhiteoutKind::Remove, path});
        if (!S_ISDIR(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) &&
            st.st_nlink > 1) {
            auto [it, fresh] = links.emplace(std::make_pair(st.st_dev, st.st_ino), path);
            if (!fresh) return w.hardlink(path, it->second);
        }
        if (S_ISDIR(st.st_mode)) {
            w.dir(path, m);
            UniqueFd sub(openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) throw Error("read " + shown(path), errno);
            if (overlay_upper && (opaque(sub.get()) || (known && known->count(path))))
                w.whiteout({WhiteoutKind::Opaque, path});
            tree(sub.get(), path);
        } else if (S_ISREG(st.st_mode)) {
            UniqueFd in(openat(dir, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (!in) throw Error("read " + shown(path), errno);
            w.file(path, m, [&](int out) {
                char buf[1 << 16];
                off_t at = 0;
                for (;;) {
                    ssize_t r = ::read(in.get(), buf, sizeof buf);
                    if (r < 0 && errno == EINTR) continue;
                    if (r < 0) throw Error("read " + shown(path), errno);
                    if (r == 0) break;
                    write_all(out, buf, size_t(r), at, path);
                    w.wrote(uint64_t(r));
                    at += r;
                }
            });
        } else if (S_ISLNK(st.st_mode)) {
            std::string target(size_t(st.st_size) + 1, '\0');
            ssize_t r = readlinkat(dir, n.c_str(), target.data(), target.size());
            if (r < 0) throw Error("read " + shown(path), errno);
            target.resize(size_t(r));
            w.symlink(path, target, m);
        } else if (S_ISFIFO(st.st_mode)) {
            w.fifo(path, m);
        }
    }
};

}  // namespace

void copy_tree(int src_fd, int root_fd, const UnpackOptions& o, UnpackStats& stats) {
    Writer w(root_fd, o, stats);
    w.check_space();
    Copier c{w, o.overlay_upper, o.opaque_dirs, {}};
    c.tree(src_fd, "");
}

namespace {

void find_opaque(int dir, const std::string& at, std::set<std::string>& out, int depth) {
    if (depth > 256) return;
    UniqueFd list(openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = fdopendir(list.get());
    if (!d) return;
    list.release();
    std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
    while (struct dirent* e = readdir(d)) {
        const std::string n = e->d_name;
        if (n == "." || n == ".." || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)) continue;
        UniqueFd sub(openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) continue;
        const std::string path = at.empty() ? n : at + "/" + n;
        if (Copier::opaque(sub.get())) out.insert(path);
        find_opaque(sub.get(), path, out, depth + 1);
    }
}

}  // namespace

std::set<std::string> overlay_opaque_dirs(int upper_fd) {
    std::set<std::string> out;
    find_opaque(upper_fd, "", out, 0);
    return out;
}

std::string Sha256::hex() {
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx_, sizeof d, d);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : d) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

std::string sha256_hex_of(const std::string& bytes) {
    Sha256 sum;
    sum.add(bytes.data(), bytes.size());
    return sum.hex();
}

}  // namespace kakuri
