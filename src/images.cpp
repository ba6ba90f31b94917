// images: images_dir/NAME/{rootfs/,image.json}, each built under a temporary name by a child
// confined to it (a user and a mount namespace whose root holds only that directory), then
// renamed into place; never written after.
#include "images.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "durable.hpp"
#include "idmap.hpp"
#include "imageexport.hpp"
#include "paths.hpp"
#include "sealed.hpp"
#include "store.hpp"
#include "supervise.hpp"
#include "sys.hpp"
#include "trust.hpp"
#include "unpack.hpp"
#include "userns.hpp"

namespace kakuri {

namespace {

constexpr const char* kRecordFile = "image.json";
constexpr const char* kLockFile = "lock";
constexpr const char* kRootfsDir = "rootfs";
constexpr const char* kSourceDir = "source";
constexpr const char* kNewPrefix = ".new-";
constexpr const char* kTrashPrefix = ".trash-";
// Left free on images_dir's file system, so that an archive that unpacks to more than the
// disk holds (a bomb, or just too big) stops with room to spare for everything else.
constexpr uint64_t kReserve = 256ull << 20;
constexpr unsigned long long kBeneath =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

// Long imports show how far they are on a terminal (README, "Images"): one line, rewritten in
// place on standard error, cleared at the end; nothing when standard error is not a terminal
// or -q was given. Set by build_image for the child that unpacks.
bool g_show_progress = false;

std::function<void(const UnpackStats&)> progress_line(const std::string& what) {
    if (!g_show_progress) return {};
    return [what](const UnpackStats& s) {
        std::fprintf(stderr, "\r\033[Kkakuri: %s: %llu files, %s", what.c_str(),
                     static_cast<unsigned long long>(s.entries), human_size(s.bytes).c_str());
        std::fflush(stderr);
    };
}

[[noreturn]] void usage(const std::string& what) {
    throw Error(what + " (see 'kakuri help image')");
}

// How the files of an image are owned, and the namespace that writes and removes them.
struct IdPlan {
    ImageIds ids = ImageIds::Own;
    MapWriter writer = MapWriter::Self;
    std::vector<IdMapLine> uid_map, gid_map;
    std::string newuidmap, newgidmap;
};

// Real root: every id as it is. Otherwise the caller's subordinate range when it has one
// (required with --subids), else the caller's own id alone.
IdPlan id_plan(const Config& cfg, const HostInfo& h, bool subids, bool& fell_back) {
    IdPlan p;
    fell_back = false;
    if (h.real_root) {
        p.ids = ImageIds::Root;
        p.writer = MapWriter::Parent;
        p.uid_map = {{0, 0, 4294967295u}};
        p.gid_map = {{0, 0, 4294967295u}};
        return p;
    }
    // The range and helpers as a container with --subids finds them (spec.cpp), so that the
    // messages are the same; nothing else of the configuration counts here.
    Config c = default_config();
    c.subids.value = true;
    c.subids.origin = Origin{"command line", 0};
    c.containers_dir = cfg.containers_dir;
    Options o;
    o.subids = true;
    try {
        ContainerSpec s = make_container(o, c, h);
        p.ids = ImageIds::Subids;
        p.writer = s.identity.map_writer;
        p.uid_map = s.identity.uid_map;
        p.gid_map = s.identity.gid_map;
        p.newuidmap = s.identity.newuidmap;
        p.newgidmap = s.identity.newgidmap;
        return p;
    } catch (const Error& e) {
        if (subids) throw;
    }
    fell_back = true;
    p.uid_map = {{0, h.uid, 1}};
    p.gid_map = {{0, h.gid, 1}};
    return p;
}

// The plan to remove an image with: the mapping it was made with.
IdPlan id_plan_of(const ImageRecord& r, const Config& cfg, const HostInfo& h) {
    if (r.ids == ImageIds::Subids && !h.real_root) {
        bool fell_back = false;
        return id_plan(cfg, h, true, fell_back);
    }
    IdPlan p;
    if (h.real_root) {
        p.ids = ImageIds::Root;
        p.writer = MapWriter::Parent;
        p.uid_map = {{0, 0, 4294967295u}};
        p.gid_map = {{0, 0, 4294967295u}};
    } else {
        p.uid_map = {{0, h.uid, 1}};
        p.gid_map = {{0, h.gid, 1}};
    }
    return p;
}

// The lock of an image (README, "Images"): every container on it holds it shared for its whole
// life, create while it records one, commit while it copies it; image remove takes it
// exclusively. A file of its own beside the tree, made with it (never later: a command that
// made it in an image being removed would leave the remove a directory it cannot delete): an
// fd of it, wherever it went, opens nothing else. Invalid when missing and not to be made.
UniqueFd open_lock(int image_dir, const std::string& what, bool make) {
    UniqueFd f(::openat(image_dir, kLockFile,
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (make ? O_CREAT | O_EXCL : 0), 0600));
    if (!f && errno == ENOENT && !make) return f;
    if (!f) throw Error(what + ": open its lock", errno);
    struct stat st;
    check(fstat(f.get(), &st), what + ": open its lock");
    if (!S_ISREG(st.st_mode) || st.st_uid != getuid())
        throw Refusal(what + ": its lock is not a file of yours");
    return f;
}

void in_namespace(const IdPlan& p, const std::string& what, const std::function<void()>& fn) {
    run_in_userns(p.writer, p.uid_map, p.gid_map, p.newuidmap, p.newgidmap, what, fn);
}

// In the child, in its user namespace: a mount namespace whose root is an empty tmpfs holding
// only dir (at /image, the working directory): whatever goes wrong in reading an archive, no
// path leads anywhere else. The fds the child keeps (the source, the directory) stay usable.
// A bind's source must be in this namespace (an fd opened before it is not): dir is found again
// by its path, in images_dir that only the caller may write, and checked to be dir_fd's.
void confine_to(int dir_fd, const std::string& path) {
    check(unshare(CLONE_NEWNS), "create a mount namespace");
    check(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
    UniqueFd fs(sys_fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!fs) throw Error("open a tmpfs", errno);
    check(sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0755", 0), "configure a tmpfs");
    check(sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0), "make a tmpfs");
    UniqueFd mnt(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
    if (!mnt) throw Error("mount a tmpfs", errno);
    check(mkdirat(mnt.get(), "image", 0755), "make the image's mount point");
    UniqueFd tree(sys_open_tree(AT_FDCWD, path.c_str(),
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW));
    if (!tree) throw Error("bind the image's directory", errno);
    struct stat want, got;
    check(fstat(dir_fd, &want), "read the image's directory");
    check(fstat(tree.get(), &got), "read the image's directory");
    if (want.st_dev != got.st_dev || want.st_ino != got.st_ino)
        throw Error("the image's directory " + path + " was replaced while it was being made");
    // The tmpfs goes over / of this namespace (nothing below it is reachable after the pivot).
    check(sys_move_mount(mnt.get(), "", AT_FDCWD, "/tmp", MOVE_MOUNT_F_EMPTY_PATH),
          "mount the image's root");
    check(sys_move_mount(tree.get(), "", AT_FDCWD, "/tmp/image", MOVE_MOUNT_F_EMPTY_PATH),
          "bind the image's directory");
    check(chdir("/tmp"), "enter the image's root");
    check(sys_pivot_root(".", "."), "pivot to the image's root");
    check(umount2(".", MNT_DETACH), "detach the host's root");
    check(chdir("/image"), "enter the image's directory");
}

UniqueFd open_beneath(int dir, const std::string& path, int flags, const std::string& what) {
    UniqueFd fd(sys_openat2(dir, path.c_str(), flags | O_CLOEXEC, 0, kBeneath));
    if (!fd)
        throw Error(what + ": cannot open " + shown(path) + " (missing, or reached through a link)",
                    errno);
    return fd;
}

std::string read_beneath(int dir, const std::string& path, const std::string& what) {
    UniqueFd fd = open_beneath(dir, path, O_RDONLY, what);
    std::string out;
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20))
        throw Error(what + ": " + shown(path) + " is not a small regular file");
    if (!read_all(fd.get(), out)) throw Error(what + ": cannot read " + shown(path), errno);
    return out;
}

void mismatch(const Digest& want, const std::string& got, const std::string& what) {
    throw Error(what + ": digest mismatch: expected " + want.text() + ", got sha256:" + got);
}

// A small JSON blob (a manifest, a config), read once and checked: what is parsed is the very
// bytes whose digest matched, whatever the file holds by then.
std::string read_verified(int layout, const std::string& path, const Digest& want,
                          const std::string& what) {
    std::string bytes = read_beneath(layout, path, what);
    std::string got = sha256_hex_of(bytes);
    if (got != want.hex) mismatch(want, got, what);
    return bytes;
}

void unpack_layers(int layout, const ImageManifest& m, const std::vector<Digest>& diff_ids,
                   int rootfs, UnpackStats& stats, ImageRecord& r) {
    for (size_t i = 0; i < m.layers.size(); ++i) {
        const BlobRef& l = m.layers[i];
        const std::string what = "layer " + std::to_string(i + 1) + " of " +
                                 std::to_string(m.layers.size()) + " (" + l.path + ")";
        UniqueFd fd = open_beneath(layout, l.path, O_RDONLY, what);
        // OCI names the blob's digest; docker save the uncompressed layer's, which the config
        // lists as diff_ids.
        const Digest* want = l.has_digest          ? &l.digest
                             : i < diff_ids.size() ? &diff_ids[i]
                                                   : nullptr;
        if (!want)
            throw Error(what +
                        ": no digest to check it against (the config lists too few "
                        "diff_ids)");
        UnpackOptions o;
        o.whiteouts = true;
        o.reserve = kReserve;
        o.what = what.c_str();
        o.progress = progress_line(what);
        // Checked as it is unpacked, in one read: the bytes checked are the bytes unpacked (a
        // second read could find others), and a mismatch leaves nothing (build_image deletes
        // the half-made image; the unpacking is as confined as any archive's).
        std::string got;
        o.sha256 = &got;
        unpack_archive(fd.get(), rootfs, o, stats);
        if (got != want->hex) mismatch(*want, got, what);
        r.layers.push_back(want->text());
    }
}

// An OCI layout (index.json, blobs/sha256/...): its image's layers, checked, in order.
void import_oci(int layout, int rootfs, UnpackStats& stats, ImageRecord& r) {
    ManifestRef ref = select_manifest(read_beneath(layout, "index.json", "index.json"));
    std::string manifest;
    for (int depth = 0;; ++depth) {
        if (depth > 4) throw Error("index.json: indexes nested too deep");
        const std::string what = "manifest " + ref.digest.text();
        manifest = read_verified(layout, ref.digest.blob_path(), ref.digest, what);
        if (!ref.is_index) break;
        ref = select_manifest(manifest);
    }
    ImageManifest m = parse_oci_manifest(manifest);
    r.config =
        parse_image_config(read_verified(layout, m.config.path, m.config.digest, "image config"));
    unpack_layers(layout, m, {}, rootfs, stats, r);
}

// docker save: manifest.json, the config as HEX.json, layers checked against its diff_ids.
void import_docker(int layout, int rootfs, UnpackStats& stats, ImageRecord& r) {
    ImageManifest m = parse_docker_manifest(read_beneath(layout, "manifest.json", "manifest.json"));
    const std::string config = read_beneath(layout, m.config.path, "image config");
    std::string base = m.config.path.substr(m.config.path.rfind('/') + 1);
    if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0)
        base.resize(base.size() - 5);
    if (base.compare(0, 7, "sha256:") == 0) base = base.substr(7);
    // Checked on the bytes read (and parsed) once.
    std::string got = sha256_hex_of(config);
    if (is_sha256_hex(base)) {
        if (got != base) mismatch(Digest{base}, got, "image config");
    } else if (m.config.path.compare(0, 13, "blobs/sha256/") == 0) {
        Digest want = parse_digest("sha256:" + m.config.path.substr(13));
        if (got != want.hex) mismatch(want, got, "image config");
    }
    r.config = parse_image_config(config);
    unpack_layers(layout, m, config_diff_ids(config), rootfs, stats, r);
}

uint64_t tree_size(int dir) {
    uint64_t total = 0;
    UniqueFd list(openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = fdopendir(list.get());
    if (!d) return 0;
    list.release();
    std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
    while (struct dirent* e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        total += uint64_t(st.st_blocks) * 512;
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sub(openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (sub) total += tree_size(sub.get());
        }
    }
    return total;
}

// What the child tells kakuri at the end: the counts for the notes.
struct Told {
    uint64_t entries = 0, devices = 0, owners_lost = 0;
};

struct Images {
    HostInfo host;
    Config cfg;
    std::string dir;  // images_dir, resolved
    UniqueFd fd;      // images_dir; invalid while it does not exist
    std::function<void(const std::string&)> report;

    std::string path(const std::string& name) const { return dir + "/" + name; }

    // Invalid when there is no such image; throws when what is there may not be trusted.
    UniqueFd open_image(const std::string& name) const {
        check_image_name(name);
        if (!fd) return {};
        UniqueFd o(::openat(fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!o) {
            if (errno == ENOENT) return {};
            throw Error("open " + path(name), errno);
        }
        struct stat st;
        check(fstat(o.get(), &st), "open " + path(name));
        if (!S_ISDIR(st.st_mode))
            throw Refusal("refusing " + path(name) + ": not an image's directory");
        std::string why = distrust(st, getuid(), TrustAs::Directory);
        if (!why.empty()) throw Refusal("refusing " + path(name) + ": " + why);
        UniqueFd d = reopen(o.get(), O_RDONLY | O_DIRECTORY);
        if (!d) throw Error("open " + path(name), errno);
        return d;
    }

    // The image's lock, held shared (blocking while a remove has it; then the image is gone).
    UniqueFd hold(const std::string& name) const {
        UniqueFd d = open_image(name);
        if (!d) throw Error("no image '" + name + "' (kakuri image list shows them)");
        UniqueFd l = open_lock(d.get(), "image '" + name + "'", false);
        if (!l)
            throw Error("image '" + name +
                        "' has no lock file (an earlier kakuri made it): import it again");
        while (flock(l.get(), LOCK_SH) != 0)
            if (errno != EINTR) throw Error("image '" + name + "': lock it", errno);
        struct stat a, b;
        if (fstat(d.get(), &a) != 0 ||
            fstatat(fd.get(), name.c_str(), &b, AT_SYMLINK_NOFOLLOW) != 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino)
            throw Error("no image '" + name + "' (it was removed meanwhile)");
        return l;
    }

    ImageRecord record(const std::string& name) const {
        UniqueFd d = open_image(name);
        if (!d) throw Error("no image '" + name + "' (kakuri image list shows them)");
        UniqueFd f(::openat(d.get(), kRecordFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!f) throw Error("image '" + name + "': cannot open its record", errno);
        struct stat st;
        check(fstat(f.get(), &st), "image '" + name + "': read its record");
        std::string why = distrust(st, getuid(), TrustAs::File);
        if (!why.empty()) throw Refusal("refusing " + path(name) + "/" + kRecordFile + ": " + why);
        std::string text;
        if (!read_all(f.get(), text)) throw Error("image '" + name + "': read its record", errno);
        ImageRecord r = parse_image_record(text);
        if (r.name != name) throw Error("image '" + name + "': its record names another image");
        return r;
    }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        if (!fd) return out;
        UniqueFd list(::openat(fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        DIR* d = fdopendir(list.get());
        if (!d) throw Error("read " + dir, errno);
        list.release();
        std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
        while (struct dirent* e = readdir(d))
            if (e->d_name[0] != '.' && valid_image_name(e->d_name)) out.push_back(e->d_name);
        std::sort(out.begin(), out.end());
        return out;
    }

    // Deletes an entry of images_dir from a namespace with the mapping the image was made
    // with: an unprivileged caller cannot remove its subordinate ids' files otherwise.
    void delete_entry(const std::string& entry, const IdPlan& p) const {
        in_namespace(p, "remove " + path(entry), [&] { remove_tree_at(fd.get(), entry); });
    }
};

// images_dir's own lock, held while an import makes and locks its hidden directory (shared)
// and while leftovers are looked for and locked (exclusive): no cleaner ever sees an
// import's directory before it is locked.
class ImagesDirLock {
public:
    ImagesDirLock(int dir, int how) : dir_(dir) {
        while (flock(dir_, how) != 0)
            if (errno != EINTR) throw Error("lock images_dir", errno);
    }
    ~ImagesDirLock() { flock(dir_, LOCK_UN); }
    ImagesDirLock(const ImagesDirLock&) = delete;
    ImagesDirLock& operator=(const ImagesDirLock&) = delete;

private:
    int dir_;
};

// A hidden directory of images_dir (.new-PID-TAGNAME) that becomes, or feeds, the image name:
// refused when the image exists, made and locked under images_dir's lock (shared) so that
// clean_leftovers never sees it unlocked, and held locked (a command killed midway leaves a
// leftover the next one deletes). Unless kept, it goes when the Staging does, by remove (an
// import's from the namespace whose ids own its files); failing that, it is said.
class Staging {
public:
    using Remove = std::function<void(const std::string& entry)>;
    // what: how a failed removal names it.
    Staging(const Images& im, const std::string& image, const std::string& tag,
            const std::string& what, Remove remove)
        : im_(im), what_(what), remove_(std::move(remove)) {
        struct stat exists;
        if (fstatat(im.fd.get(), image.c_str(), &exists, AT_SYMLINK_NOFOLLOW) == 0)
            throw Error("image '" + image + "' already exists");
        name_ = kNewPrefix + std::to_string(getpid()) + "-" + tag + image;
        ImagesDirLock making(im.fd.get(), LOCK_SH);
        check(mkdirat(im.fd.get(), name_.c_str(), 0700), "create " + path());
        // Empty until the constructor returns: removed as such when it throws.
        ScopeGuard undo([&] { unlinkat(im.fd.get(), name_.c_str(), AT_REMOVEDIR); });
        fd_.reset(
            ::openat(im.fd.get(), name_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd_) throw Error("open " + path(), errno);
        check(flock(fd_.get(), LOCK_EX | LOCK_NB), "lock " + path());
        undo.dismiss();
    }
    ~Staging() {
        if (kept_) return;
        try {
            remove_(name_);
        } catch (const Error& e) {
            im_.report("cannot remove " + what_ + path() + ": " + e.what());
        }
    }
    Staging(const Staging&) = delete;
    Staging& operator=(const Staging&) = delete;

    const std::string& name() const { return name_; }
    std::string path() const { return im_.path(name_); }
    int fd() const { return fd_.get(); }
    // It is in place now (renamed): nothing to remove.
    void keep() { kept_ = true; }

private:
    const Images& im_;
    std::string what_;
    Remove remove_;
    std::string name_;
    UniqueFd fd_;
    bool kept_ = false;
};

// What an import or remove killed midway left (a hidden .new-* or .trash-* directory whose
// lock nobody holds) goes with the next command, deleted from a namespace with the caller's
// mapping of now (the one that made it, unless the range changed since: then it is said).
void clean_leftovers(const Images& im) {
    if (!im.fd) return;
    std::vector<std::string> left;
    {
        UniqueFd list(::openat(im.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        DIR* d = list ? fdopendir(list.get()) : nullptr;
        if (!d) return;
        list.release();
        std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
        while (struct dirent* e = readdir(d)) {
            const std::string n = e->d_name;
            if (n.rfind(kNewPrefix, 0) == 0 || n.rfind(kTrashPrefix, 0) == 0) left.push_back(n);
        }
    }
    // Each leftover locked while images_dir is (an import makes and locks its directory
    // under images_dir's lock, shared): one seen here unlocked is no import's at work.
    std::vector<std::pair<std::string, UniqueFd>> taken;
    {
        ImagesDirLock scan(im.fd.get(), LOCK_EX);
        for (const auto& n : left) {
            UniqueFd held(
                ::openat(im.fd.get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!held || flock(held.get(), LOCK_EX | LOCK_NB) != 0) continue;  // still at work
            taken.emplace_back(n, std::move(held));
        }
    }
    for (const auto& t : taken) {
        const std::string& n = t.first;
        try {
            bool fell_back = false;
            im.delete_entry(n, id_plan(im.cfg, im.host, false, fell_back));
        } catch (const Error& e) {
            im.report("cannot clean up " + im.path(n) + ": " + e.what());
        }
    }
}

Images open_images(const std::string& config, const std::function<void(const std::string&)>& rep,
                   bool make) {
    Images im;
    im.host = scan_host(kakuri_binary());
    im.cfg = load_configs(config, im.host.home);
    im.report = rep;
    im.dir = images_dir_of(im.cfg, im.host.home);
    Trusted t = make ? make_trusted_dir(im.dir, getuid()) : open_trusted(im.dir, getuid());
    if (t.fd) {
        if (!S_ISDIR(t.st.st_mode)) throw Error("images_dir " + im.dir + " is not a directory");
        im.fd = make ? std::move(t.fd) : reopen(t.fd.get(), O_RDONLY | O_DIRECTORY);
        if (!im.fd) throw Error("open " + im.dir, errno);
        im.dir = t.path;
    } else if (t.err != ENOENT && t.err != ENOTDIR) {
        throw Error("open " + im.dir, t.err);
    }
    clean_leftovers(im);
    return im;
}

// images_dir for a container's use: nothing made, nothing cleaned.
Images images_of(const Config& cfg, const HostInfo& host) {
    Images im;
    im.host = host;
    im.cfg = cfg;
    im.dir = images_dir_of(cfg, host.home);
    Trusted t = open_trusted(im.dir, getuid());
    if (t.fd) {
        im.fd = reopen(t.fd.get(), O_RDONLY | O_DIRECTORY);
        im.dir = t.path;
    }
    return im;
}

struct ParsedSub {
    std::vector<std::string> operands;
    bool json = false, quiet = false, force = false, subids = false;
    bool tls_verify = true;  // pull --tls-verify=false: a registry that speaks plain HTTP
    std::string format;      // export --format
    int verbosity = 0;
    bool help = false;
};

ParsedSub parse_image_options(int argc, char* argv[], const std::string& sub) {
    ParsedSub p;
    static const struct option kLong[] = {{"json", no_argument, nullptr, 'j'},
                                          {"quiet", no_argument, nullptr, 'q'},
                                          {"force", no_argument, nullptr, 'f'},
                                          {"subids", no_argument, nullptr, 's'},
                                          {"verbose", no_argument, nullptr, 'v'},
                                          {"help", no_argument, nullptr, 'h'},
                                          {"tls-verify", required_argument, nullptr, 't'},
                                          {"format", required_argument, nullptr, 'F'},
                                          {nullptr, 0, nullptr, 0}};
    // Which options each action takes.
    const std::string allowed = sub == "pull"      ? "sqvht"
                                : sub == "import"  ? "sqvh"
                                : sub == "list"    ? "jqh"
                                : sub == "remove"  ? "fh"
                                : sub == "inspect" ? "h"
                                : sub == "export"  ? "Fqh"
                                                   : "h";
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "+:jqfvh", kLong, nullptr);
        if (c == -1) break;
        if (c == ':') usage("image " + sub + ": " + argv[optind - 1] + " needs a value");
        if (c == '?' || allowed.find(char(c)) == std::string::npos)
            usage("image " + sub + ": unknown option '" + std::string(argv[optind - 1]) + "'");
        switch (c) {
        case 'j': p.json = true; break;
        case 'q': p.quiet = true; break;
        case 'f': p.force = true; break;
        case 's': p.subids = true; break;
        case 'v': p.verbosity = 1; break;
        case 'h': p.help = true; break;
        case 't':
            if (strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0)
                usage("image pull: --tls-verify takes true or false, not " + shown(optarg));
            p.tls_verify = strcmp(optarg, "true") == 0;
            break;
        case 'F': p.format = optarg; break;
        }
    }
    for (int i = optind; i < argc; ++i) p.operands.emplace_back(argv[i]);
    if (p.quiet && (sub == "import" || sub == "pull" || sub == "export")) p.verbosity = -1;
    return p;
}

// Builds the image r.name: a hidden directory in images_dir, filled by fill (in a user namespace
// with ids' mapping and a mount namespace confined to that directory; it is given the directory
// and the image's root, both open), its record written, then renamed into place. Anything
// wrong leaves nothing behind.
using Fill = std::function<void(int tmp, int rootfs, UnpackStats& stats, ImageRecord& r)>;
void build_image(const std::string& config, const std::function<void(const std::string&)>& report,
                 const IdPlan& ids, ImageRecord r, int verbosity, bool fell_back,
                 const std::string& what, const Fill& fill) {
    Images im = open_images(config, report, true);
    const std::string& name = r.name;
    // Anything wrong from here on leaves nothing: the half-made image is deleted (from the
    // namespace whose ids own its files). Held locked until the rename (the child shares
    // it): a later command that can take the lock knows the import that made it is gone.
    Staging staging(im, name, "", "the half-made image ",
                    [&](const std::string& e) { im.delete_entry(e, ids); });
    const std::string& tmp = staging.name();
    const int tmp_fd = staging.fd();

    Pipe told = make_pipe();
    const int images_fd = im.fd.get();
    r.ids = ids.ids;
    r.created = static_cast<int64_t>(time(nullptr));
    g_show_progress = verbosity >= 0 && isatty(STDERR_FILENO);
    // The progress line goes before anything else is said, an error included.
    ScopeGuard clear_progress([] {
        if (g_show_progress) std::fputs("\r\033[K", stderr);
    });
    in_namespace(ids, what, [&] {
        told.r.reset();
        ::close(images_fd);  // nothing of images_dir but the new image is reachable
        confine_to(tmp_fd, im.path(tmp));
        check(mkdirat(tmp_fd, kRootfsDir, 0755), "make the image's root");
        UniqueFd rootfs(
            ::openat(tmp_fd, kRootfsDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!rootfs) throw Error("open the image's root", errno);
        UnpackStats stats;
        fill(tmp_fd, rootfs.get(), stats, r);
        r.size = tree_size(rootfs.get());
        // Readable by the caller alone, as the store's records (the source's path is theirs).
        UniqueFd rec(::openat(tmp_fd, kRecordFile,
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!rec) throw Error("write the image's record", errno);
        const std::string text = format_image_record(r);
        if (::write(rec.get(), text.data(), text.size()) != ssize_t(text.size()))
            throw Error("write the image's record", errno);
        const std::string counts = std::to_string(stats.entries) + " " +
                                   std::to_string(stats.devices) + " " +
                                   std::to_string(stats.owners_lost) + "\n";
        if (::write(told.w.get(), counts.data(), counts.size()) < 0)
            throw Error("tell kakuri", errno);
    });
    open_lock(tmp_fd, "image '" + name + "'", true);
    if (g_show_progress) std::fputs("\r\033[K", stderr);
    g_show_progress = false;
    told.w.reset();
    std::string counts;
    read_all(told.r.get(), counts);
    Told t;
    if (sscanf(counts.c_str(), "%lu %lu %lu", &t.entries, &t.devices, &t.owners_lost) != 3)
        throw Error(what + ": the unpacking child said nothing");
    // The image appears whole or not at all.
    if (renameat2(im.fd.get(), tmp.c_str(), im.fd.get(), name.c_str(), RENAME_NOREPLACE) != 0) {
        if (errno == EEXIST) throw Error("image '" + name + "' already exists");
        throw Error("rename " + im.path(tmp) + " to " + im.path(name), errno);
    }
    staging.keep();
    if (verbosity > 0 && t.devices)
        report("note: " + std::to_string(t.devices) +
               " device nodes and sockets skipped (a container's /dev is kakuri's)");
    if (verbosity >= 0 && t.owners_lost)
        report("note: " + std::to_string(t.owners_lost) +
               " files belong to users other than "
               "root, who have no id here: they are yours now. Multi-user software in the "
               "image (apt's _apt, a database's user) needs its ids: import it with --subids "
               "after an administrator gives you a range in /etc/subuid and /etc/subgid");
    else if (verbosity > 0 && fell_back)
        report("note: no subordinate id range: the image's files are yours");
    if (verbosity >= 0) std::printf("%s\n", name.c_str());
}

// recorded: the source the image's record names (pull: the REF), when not SOURCE itself.
int cmd_import(const ParsedSub& p, const std::string& config,
               const std::function<void(const std::string&)>& report,
               const std::string& recorded = "") {
    if (p.operands.empty() || p.operands.size() > 2)
        usage("image import takes SOURCE and, optionally, NAME");
    Images im = open_images(config, report, false);
    std::string source = expand_tilde(p.operands[0], im.host.home);
    if (source.empty()) usage("image import: an empty SOURCE");
    if (source[0] != '/') source = im.host.cwd + "/" + source;
    source = normalize_path(source);
    const std::string name =
        p.operands.size() == 2 ? p.operands[1] : image_name_from_source(source);
    if (name.empty())
        throw Error("image import " + shown(p.operands[0]) +
                    ": no image name can be made of it; name one: kakuri image import SOURCE NAME");
    check_image_name(name);
    UniqueFd src(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!src) throw Error("image import: cannot open " + shown(source), errno);
    struct stat st;
    check(fstat(src.get(), &st), "image import: read " + source);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        throw Error("image import: " + shown(source) + " is neither a file nor a directory");

    // What the source is, decided before anything is made.
    ImageRecord r;
    r.name = name;
    r.source = recorded.empty() ? source : recorded;
    SourceKind kind = SourceKind::Rootfs;
    if (S_ISDIR(st.st_mode)) {
        std::vector<std::string> top;
        for (const char* n : {"oci-layout", "index.json", "manifest.json"})
            if (faccessat(src.get(), n, F_OK, AT_SYMLINK_NOFOLLOW) == 0) top.push_back(n);
        kind = top.empty() ? SourceKind::Rootfs : source_kind(top);
        r.format = kind == SourceKind::Oci      ? "oci"
                   : kind == SourceKind::Docker ? "docker"
                                                : "directory";
    } else {
        std::vector<std::string> names;
        try {
            names = archive_names(src.get(), 256);
        } catch (const Error& e) {
            throw Error("image import " + shown(source) +
                        ": not an archive kakuri reads (tar, "
                        "plain or gzip, xz, zstd, bzip2): " +
                        e.what());
        }
        kind = source_kind(names);
        r.format = kind == SourceKind::Oci      ? "oci"
                   : kind == SourceKind::Docker ? "docker"
                                                : "rootfs";
    }
    bool fell_back = false;
    IdPlan ids = id_plan(im.cfg, im.host, p.subids, fell_back);
    build_image(config, report, ids, r, p.verbosity, fell_back, "image import " + source,
                [&](int tmp, int rootfs, UnpackStats& stats, ImageRecord& rec) {
                    UnpackOptions o;
                    o.reserve = kReserve;
                    o.progress = progress_line(name);
                    o.what = "the archive";
                    if (S_ISDIR(st.st_mode) && kind == SourceKind::Rootfs) {
                        o.what = "the directory";
                        copy_tree(src.get(), rootfs, o, stats);
                    } else if (kind == SourceKind::Rootfs) {
                        unpack_archive(src.get(), rootfs, o, stats);
                    } else {
                        int layout = src.get();
                        UniqueFd staged;
                        if (!S_ISDIR(st.st_mode)) {
                            // An archive of a layout: its files first, as files (no owners, no
                            // FIFOs).
                            check(mkdirat(tmp, kSourceDir, 0700), "make a staging directory");
                            staged.reset(::openat(tmp, kSourceDir,
                                                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                            if (!staged) throw Error("open the staging directory", errno);
                            UnpackOptions so = o;
                            so.owners = false;
                            so.special = false;
                            UnpackStats ignored;
                            unpack_archive(src.get(), staged.get(), so, ignored);
                            layout = staged.get();
                        }
                        if (kind == SourceKind::Oci)
                            import_oci(layout, rootfs, stats, rec);
                        else
                            import_docker(layout, rootfs, stats, rec);
                        if (staged) {
                            staged.reset();
                            remove_tree_at(tmp, kSourceDir);
                        }
                    }
                });
    return 0;
}

// skopeo on PATH, or "".
std::string find_skopeo() {
    const char* path = getenv("PATH");
    for (const std::string& dir : split(path && *path ? path : "/usr/bin:/bin", ':')) {
        if (dir.empty() || dir[0] != '/') continue;
        const std::string p = dir + "/skopeo";
        struct stat st;
        if (stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0)
            return p;
    }
    return "";
}

// kakuri image pull REF [NAME]: skopeo copies REF into an OCI layout in a hidden directory of
// images_dir (made and locked as an import's: a pull killed midway leaves a leftover the next
// command deletes), which is then imported as any layout is. kakuri speaks no registry
// protocol; skopeo's progress is shown on a terminal.
int cmd_pull(const ParsedSub& p, const std::string& config,
             const std::function<void(const std::string&)>& report) {
    if (p.operands.empty() || p.operands.size() > 2)
        usage("image pull takes REF and, optionally, NAME");
    const std::string ref = pull_reference(p.operands[0]);
    const std::string name = p.operands.size() == 2 ? p.operands[1] : image_name_from_ref(ref);
    if (name.empty())
        throw Error("image pull " + shown(p.operands[0]) +
                    ": no image name can be made of it; name one: kakuri image pull REF NAME");
    check_image_name(name);
    const std::string skopeo = find_skopeo();
    if (skopeo.empty())
        throw Error("image pull needs skopeo, which is not installed: install the skopeo package");
    Images im = open_images(config, report, true);
    Staging stage(im, name, "pull-", "",
                  [&](const std::string& e) { remove_tree_at(im.fd.get(), e); });

    const bool show = p.verbosity >= 0 && isatty(STDERR_FILENO);
    Pipe err = make_pipe();
    std::vector<std::string> args = {"skopeo", "copy"};
    if (!p.tls_verify) args.push_back("--src-tls-verify=false");
    for (const char* a : {"--", ref.c_str(), "oci:layout:latest"}) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t child = fork();
    if (child < 0) throw Error("image pull: fork skopeo", errno);
    if (child == 0) {
        // In the staging directory (a relative layout path: images_dir may hold a ':'); its
        // progress on the terminal, its errors to kakuri.
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(null, STDIN_FILENO);
        dup2(show ? STDERR_FILENO : null, STDOUT_FILENO);
        dup2(err.w.get(), STDERR_FILENO);
        if (fchdir(stage.fd()) != 0) _exit(126);
        execv(skopeo.c_str(), argv.data());
        _exit(127);
    }
    err.w.reset();
    std::string said;
    read_all(err.r.get(), said);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string last;
        for (const auto& line : split(said, '\n'))
            if (!line.empty()) last = line;
        throw Error("image pull " + shown(p.operands[0]) + ": skopeo failed" +
                    (last.empty() ? std::string() : ": " + last));
    }
    ParsedSub q = p;
    q.operands = {stage.path() + "/layout", name};
    return cmd_import(q, config, report, ref);
}

// kakuri image export IMAGE FILE: the image's tree read by a child in the user namespace of the
// image's ids (so that every owner is as the container sees it) and confined, as an import's
// child is, to the image's directory; FILE made beside itself under a temporary name, renamed
// once whole, deleted on any error.
int cmd_export(const ParsedSub& p, const std::string& config,
               const std::function<void(const std::string&)>& report) {
    if (p.operands.size() != 2) usage("image export takes IMAGE and FILE");
    const ExportFormat fmt = parse_export_format(p.format.empty() ? "oci" : p.format);
    Images im = open_images(config, report, false);
    const std::string& name = p.operands[0];
    // Not removed while it is read (a remove waits for no reader: it refuses).
    UniqueFd held = im.hold(name);
    const ImageRecord r = im.record(name);
    UniqueFd dir = im.open_image(name);
    if (!dir) throw Error("no image '" + name + "' (kakuri image list shows them)");
    ExportTarget out(p.operands[1] == "-" ? "-" : expand_tilde(p.operands[1], im.host.home), fmt);
    const IdPlan ids = id_plan_of(r, im.cfg, im.host);
    const bool show = p.verbosity >= 0 && isatty(STDERR_FILENO);
    ScopeGuard clear_progress([show] {
        if (show) std::fputs("\r\033[K", stderr);
    });
    const int images_fd = im.fd.get();
    in_namespace(ids, "image export " + name, [&] {
        ::close(images_fd);  // nothing of images_dir but this image is reachable
        confine_to(dir.get(), im.path(name));
        UniqueFd rootfs(
            ::openat(dir.get(), kRootfsDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!rootfs) throw Error("image '" + name + "': open its tree", errno);
        ExportJob job;
        job.rootfs = rootfs.get();
        job.record = &r;
        job.format = fmt;
        job.out = out.fd();
        if (show)
            job.progress = [&name](const ExportStats& s) {
                std::fprintf(stderr, "\r\033[Kkakuri: export %s: %s %llu files, %s", name.c_str(),
                             s.writing ? "writing" : "reading",
                             static_cast<unsigned long long>(s.files), human_size(s.bytes).c_str());
                std::fflush(stderr);
            };
        write_export(job);
    });
    out.commit();
    return 0;
}

int cmd_list(const ParsedSub& p, const std::string& config,
             const std::function<void(const std::string&)>& report) {
    if (!p.operands.empty()) usage("image list takes no operands");
    Images im = open_images(config, report, false);
    std::vector<ImageRecord> out;
    for (const auto& n : im.names()) {
        try {
            out.push_back(im.record(n));
        } catch (const Refusal&) {
            throw;
        } catch (const Error& e) {
            report("image '" + n + "': " + e.what());
        }
    }
    if (p.quiet) {
        for (const auto& r : out) std::printf("%s\n", r.name.c_str());
    } else if (p.json) {
        std::fputs(format_image_json(out).c_str(), stdout);
    } else {
        std::fputs(format_image_table(out, static_cast<int64_t>(time(nullptr))).c_str(), stdout);
    }
    return 0;
}

int cmd_inspect(const ParsedSub& p, const std::string& config,
                const std::function<void(const std::string&)>& report) {
    if (p.operands.size() != 1) usage("image inspect takes one NAME");
    Images im = open_images(config, report, false);
    ImageRecord r = im.record(p.operands[0]);
    nlohmann::json j = nlohmann::json::parse(format_image_record(r));
    j["rootfs"] = im.path(r.name) + "/" + kRootfsDir;
    std::fputs((j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(),
               stdout);
    return 0;
}

// The containers of containers_dir made from the image (their record's image field).
std::vector<std::string> users_of(const Images& im, const std::string& name) {
    std::vector<std::string> out;
    Store store(normalize_path(expand_tilde(im.cfg.containers_dir.value, im.host.home)));
    if (store.fd() < 0) return out;
    for (const auto& c : store.names()) {
        try {
            Record rec = store.record(c);
            if (rec.version >= 2 && container_from_fields(rec.spec).layout.image == name)
                out.push_back(c);
        } catch (const Error&) {
        }
    }
    return out;
}

int cmd_remove(const ParsedSub& p, const std::string& config,
               const std::function<void(const std::string&)>& report) {
    if (p.operands.empty()) usage("image remove takes at least one NAME");
    Images im = open_images(config, report, false);
    for (const auto& name : p.operands) {
        ImageRecord r = im.record(name);
        // Taken first, without waiting, and kept to the end: a container running on it holds it
        // (a temporary one too), and a create holds it while it records a container on it.
        UniqueFd held = im.open_image(name);
        if (!held) throw Error("no image '" + name + "' (kakuri image list shows them)");
        // Without a lock file (an earlier kakuri's image) no container can run on it.
        UniqueFd lock = open_lock(held.get(), "image '" + name + "'", false);
        if (lock && flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) throw Error("image '" + name + "': lock it", errno);
            throw Error("image '" + name +
                        "' is in use (a container runs on it, or is being made from it); it is "
                        "never removed under a running container, -f or not");
        }
        std::vector<std::string> users = users_of(im, name);
        if (!users.empty() && !p.force) {
            std::string list;
            for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
            throw Error("image '" + name + "' is used by container" +
                        (users.size() > 1 ? "s " : " ") + list +
                        " (remove them first, or image remove -f)");
        }
        // Out of sight first (atomically), then deleted; locked throughout, so that no other
        // command takes it for a leftover of a remove that was killed.
        if (flock(held.get(), LOCK_EX) != 0)
            throw Error("remove image '" + name + "': cannot lock it", errno);
        const std::string trash = kTrashPrefix + std::to_string(getpid()) + "-" + name;
        if (renameat2(im.fd.get(), name.c_str(), im.fd.get(), trash.c_str(), RENAME_NOREPLACE))
            throw Error("remove image '" + name + "'", errno);
        im.delete_entry(trash, id_plan_of(r, im.cfg, im.host));
    }
    return 0;
}

// A container's root as commit reads it (README, "Images"): the tree below, opened, and what
// the container wrote over it (invalid when it never wrote), with the directories overlayfs
// marked opaque; the image below held while it is read.
struct RootLayers {
    UniqueFd held, lower, upper;
    std::set<std::string> opaque;
};

RootLayers open_layers(const Config& cfg, const HostInfo& host, const CommitFrom& from,
                       const std::string& what) {
    RootLayers l;
    // The image below is not removed while it is copied.
    if (!from.image.empty()) l.held = images_of(cfg, host).hold(from.image);
    // Opened here, followed no further than the paths create recorded and kakuri made.
    l.lower.reset(::open(from.lower.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!l.lower) throw Error(what + ": open " + from.lower, errno);
    l.upper.reset(::open(from.upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!l.upper && errno != ENOENT) throw Error(what + ": open " + from.upper, errno);
    // Real root's overlay marks opaque directories with trusted.* xattrs, which the unpacking
    // user namespace cannot read: found here first.
    if (l.upper) l.opaque = overlay_opaque_dirs(l.upper.get());
    return l;
}

// The tree below, then what the container wrote over it: overlayfs's whiteouts and opaque
// directories as an image layer's.
void copy_layers(const RootLayers& l, int rootfs, const std::string& name, UnpackStats& stats) {
    UnpackOptions o;
    o.reserve = kReserve;
    o.progress = progress_line(name);
    o.what = "the container's root";
    copy_tree(l.lower.get(), rootfs, o, stats);
    if (!l.upper) return;
    o.overlay_upper = true;
    o.whiteouts = true;
    o.opaque_dirs = &l.opaque;
    copy_tree(l.upper.get(), rootfs, o, stats);
}

}  // namespace

void commit_image(const std::string& config, const std::function<void(const std::string&)>& report,
                  const CommitFrom& from, const std::string& name, int verbosity) {
    check_image_name(name);
    HostInfo host = scan_host(kakuri_binary());
    Config cfg = load_configs(config, host.home);
    const RootLayers layers = open_layers(cfg, host, from, "commit");
    bool fell_back = false;
    IdPlan ids = id_plan(cfg, host, false, fell_back);
    ImageRecord r;
    r.name = name;
    r.source = "container " + from.container;
    r.format = "commit";
    r.config = from.config;
    build_image(config, report, ids, r, verbosity, fell_back, "commit " + from.container,
                [&](int, int rootfs, UnpackStats& stats, ImageRecord&) {
                    copy_layers(layers, rootfs, name, stats);
                });
}

void copy_root(const std::string& config, const CommitFrom& from, int dir_fd,
               const std::string& dir_path, int verbosity,
               const std::function<void(int rootfs)>& then) {
    HostInfo host = scan_host(kakuri_binary());
    Config cfg = load_configs(config, host.home);
    const std::string what = "export " + from.container;
    const RootLayers layers = open_layers(cfg, host, from, what);
    bool fell_back = false;
    IdPlan ids = id_plan(cfg, host, false, fell_back);
    g_show_progress = verbosity >= 0 && isatty(STDERR_FILENO);
    ScopeGuard clear_progress([] {
        if (g_show_progress) std::fputs("\r\033[K", stderr);
        g_show_progress = false;
    });
    in_namespace(ids, what, [&] {
        confine_to(dir_fd, dir_path);
        check(mkdirat(dir_fd, kRootfsDir, 0755), "make " + dir_path + "/" + kRootfsDir);
        UniqueFd rootfs(
            ::openat(dir_fd, kRootfsDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!rootfs) throw Error("open " + dir_path + "/" + kRootfsDir, errno);
        UnpackStats stats;
        copy_layers(layers, rootfs.get(), from.container, stats);
        if (then) then(rootfs.get());
    });
}

void remove_root_copy(const std::string& config, int parent_fd, const std::string& entry,
                      const std::string& what) {
    HostInfo host = scan_host(kakuri_binary());
    Config cfg = load_configs(config, host.home);
    bool fell_back = false;
    in_namespace(id_plan(cfg, host, false, fell_back), what,
                 [&] { remove_tree_at(parent_fd, entry); });
}

std::string images_dir_of(const Config& cfg, const std::string& home) {
    std::string dir = expand_tilde(cfg.images_dir.value, home);
    if (dir.empty() || dir[0] != '/') {
        const Origin& o = cfg.images_dir.origin;
        throw Error((o.line ? o.file + ":" + std::to_string(o.line) + ": " : std::string()) +
                    "images_dir must be an absolute path or start with ~/");
    }
    return normalize_path(dir);
}

UniqueFd hold_image(const Config& cfg, const HostInfo& host, const std::string& name) {
    return images_of(cfg, host).hold(name);
}

ImageUse use_image(const Config& cfg, const HostInfo& host, const std::string& name,
                   UniqueFd* hold) {
    Images im = images_of(cfg, host);
    if (hold) *hold = im.hold(name);
    ImageRecord r = im.record(name);
    ImageUse u;
    u.name = name;
    u.rootfs = im.path(name) + "/" + kRootfsDir;
    u.env = r.config.env;
    u.command = r.config.command();
    u.workdir = r.config.workdir;
    return u;
}

SourceKind source_kind(const std::vector<std::string>& names) {
    bool oci = false, docker = false;
    for (const auto& raw : names) {
        std::string n;
        try {
            n = entry_path(raw);
        } catch (const Error&) {
            return SourceKind::Rootfs;  // the root filesystem's unpacking refuses it
        }
        if (n == "oci-layout" || n == "index.json") oci = true;
        if (n == "manifest.json") docker = true;
    }
    if (oci) return SourceKind::Oci;
    if (docker) return SourceKind::Docker;
    return SourceKind::Rootfs;
}

std::string human_size(uint64_t b) {
    static const char* const kUnits[] = {"K", "M", "G", "T"};
    if (b < 1024) return std::to_string(b) + "B";
    double v = double(b);
    int u = -1;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    snprintf(buf, sizeof buf, v < 10 ? "%.1f%s" : "%.0f%s", v, kUnits[u]);
    return buf;
}

std::string format_image_table(const std::vector<ImageRecord>& images, int64_t now) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "SIZE", "CREATED", "SOURCE"}};
    for (const auto& r : images)
        rows.push_back({r.name, human_size(r.size), time_ago(r.created, now), one_line(r.source)});
    std::vector<size_t> w(4, 0);
    for (const auto& row : rows)
        for (size_t i = 0; i < 4; ++i) w[i] = std::max(w[i], row[i].size());
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < 4; ++i) {
            line += row[i];
            if (i < 3) line += std::string(w[i] - row[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

std::string format_image_json(const std::vector<ImageRecord>& images) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& r : images) a.push_back(nlohmann::json::parse(format_image_record(r)));
    return a.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string image_help() {
    return "Usage: kakuri image import [--subids] [-q|--quiet] [-v|--verbose] SOURCE [NAME]\n"
           "       kakuri image pull [--tls-verify=false] [--subids] [-q|--quiet] [-v|--verbose]\n"
           "                         REF [NAME]\n"
           "       kakuri image export [--format=oci|docker|dir] [-q|--quiet] IMAGE FILE\n"
           "       kakuri image list [--json | -q|--quiet]\n"
           "       kakuri image inspect NAME\n"
           "       kakuri image remove [-f|--force] NAME...\n"
           "Images live under images_dir (default ~/.local/kakuri/images); --image NAME runs a\n"
           "container on one (its tree the read-only layer below the container's own).\n"
           "import: SOURCE is a root filesystem tarball (plain, gzip, xz, zstd, bzip2), a\n"
           "directory, an OCI image layout or OCI archive, or a docker/podman save archive;\n"
           "layers are applied in order with their whiteouts, digests are checked, the image's\n"
           "Env, Entrypoint, Cmd, WorkingDir and User are kept. NAME defaults to SOURCE's name.\n"
           "It unpacks in a user namespace with your subordinate ids when you have a range\n"
           "(--subids: required), else every file becomes yours; device nodes are skipped.\n"
           "pull: skopeo copies REF (HOST/NAME[:TAG], docker:// meant) into an OCI layout,\n"
           "which is imported as above; NAME defaults to REF's last component.\n"
           "--tls-verify=false: the registry may speak plain HTTP (one on 127.0.0.1).\n"
           "export: the image as one layer with its config, owners as a container sees them:\n"
           "an OCI archive (podman load, skopeo oci-archive:FILE), --format docker a docker\n"
           "load archive, --format dir an OCI layout directory. FILE must not exist; it is\n"
           "made under a temporary name and renamed when whole; - is standard output.\n"
           "list: NAME SIZE CREATED SOURCE. inspect: the image's record (JSON).\n"
           "remove: refused while a container runs on the image (-f or not), and while a\n"
           "persistent container was made from it unless -f (that container cannot start).\n";
}

int run_image_subcommand(int argc, char* argv[], const std::string& config,
                         const std::function<void(const std::string&)>& report) {
    // The action is the first word that is not an option: options may come before it
    // (kakuri image -q list), as after.
    std::vector<char*> rest = {argv[0]};
    std::string sub;
    for (int i = 1; i < argc; ++i) {
        if (sub.empty() && argv[i][0] != '-')
            sub = argv[i];
        else
            rest.push_back(argv[i]);
    }
    rest.push_back(nullptr);
    const int n = static_cast<int>(rest.size()) - 1;
    const bool help = n > 1 && (!strcmp(rest[1], "--help") || !strcmp(rest[1], "-h"));
    if (sub.empty() || sub == "help" || help) {
        if (!help && sub.empty())
            usage("image needs an action: import, pull, export, list, inspect or remove");
        std::fputs(image_help().c_str(), stdout);
        return 0;
    }
    if (sub != "import" && sub != "pull" && sub != "export" && sub != "list" && sub != "inspect" &&
        sub != "remove")
        usage("image: unknown action " + shown(sub));
    ParsedSub p = parse_image_options(n, rest.data(), sub);
    if (p.help) {
        std::fputs(image_help().c_str(), stdout);
        return 0;
    }
    if (sub == "import") return cmd_import(p, config, report);
    if (sub == "pull") return cmd_pull(p, config, report);
    if (sub == "export") return cmd_export(p, config, report);
    if (sub == "list") return cmd_list(p, config, report);
    if (sub == "inspect") return cmd_inspect(p, config, report);
    return cmd_remove(p, config, report);
}

}  // namespace kakuri
