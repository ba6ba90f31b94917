// mounts: tmpfs or root filesystem root, overlays, symlinks, /dev, /proc, /sys, binds, pivot_root.
#include "mounts.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "paths.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {

// Where the staging tmpfs goes in the container's (private) copy of the host's
// mount table. It holds the in-memory upper layers and the new root's mount
// point; it disappears from view with the old root at pivot_root.
const char* const kStage = "/tmp";

const unsigned long long kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

enum class Create { None, Dir, File };

// The directory a step last opened to make something in, kept for the next step there (the
// /dev nodes, links and directories, one after another): a directory of the new root, opened
// as open_in_root opens it. Forgotten once a step mounts at it or above it (Apply::step).
struct LastDir {
    std::string path;
    UniqueFd fd;
};

UniqueFd open_in_root(int root, const std::string& path, Create create, mode_t mode = 0755,
                      LastDir* last = nullptr);

// The parent directory of a path of the new root, opened (and made) as open_in_root does; for a
// path right under the root, the root's own fd: no walk, no fd made.
struct Parent {
    UniqueFd owned;
    int fd = -1;
    int get() const { return fd; }
};
Parent open_parent(int root, const std::string& path, LastDir* last = nullptr) {
    Parent p;
    const std::string dir = parent_path(path);
    if (dir == "/") {
        p.fd = root;
    } else if (last && last->fd && last->path == dir) {
        p.fd = last->fd.get();
    } else if (last) {
        UniqueFd fd = open_in_root(root, dir, Create::Dir, 0755, last);
        last->path = dir;
        last->fd = std::move(fd);
        p.fd = last->fd.get();
    } else {
        p.owned = open_in_root(root, dir, Create::Dir);
        p.fd = p.owned.get();
    }
    return p;
}

// Open a path of the new root, resolved inside it (symlinks cannot lead out),
// creating the missing directories (and the last component as asked).
UniqueFd open_in_root(int root, const std::string& path, Create create, mode_t mode,
                      LastDir* last) {
    std::string rel = path == "/" ? "." : path.substr(1);
    int fd = sys_openat2(root, rel.c_str(), O_PATH | O_CLOEXEC, 0, kResolve);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT || create == Create::None)
        throw Error("open " + path + " in the new root", errno);
    const Parent parent = open_parent(root, path, last);
    std::string name = base_name(path);
    if (create == Create::Dir) {
        if (mkdirat(parent.get(), name.c_str(), mode) != 0 && errno != EEXIST)
            throw Error("create mount point " + path, errno);
    } else {
        UniqueFd f(
            openat(parent.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444));
        if (!f && errno != EEXIST && errno != ELOOP)
            throw Error("create mount point " + path, errno);
    }
    // What was just made, in the parent already resolved: no second walk from the root. A
    // symlink there (made by nobody here) is not followed; the walk below tells what it is.
    fd = sys_openat2(parent.get(), name.c_str(), O_PATH | O_CLOEXEC, 0,
                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (fd >= 0) return UniqueFd(fd);
    fd = sys_openat2(root, rel.c_str(), O_PATH | O_CLOEXEC, 0, kResolve);
    if (fd >= 0) return UniqueFd(fd);
    int err = errno;
    // A root filesystem's symlink (/proc -> /somewhere) whose target is not in the tree: it is
    // never created through, let alone followed out of the root.
    struct stat st;
    if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        throw Error("cannot mount on " + path +
                    ": it is a symlink to nothing inside the container's root (kakuri never "
                    "follows one out of it)");
    throw Error("open " + path + " in the new root", err);
}

void write_all(int fd, const std::string& text, const std::string& what) {
    for (size_t at = 0; at < text.size();) {
        ssize_t n = ::write(fd, text.data() + at, text.size() - at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error("write the file for " + what, errno);
        at += static_cast<size_t>(n);
    }
}

// At most max bytes of an open file (a root's /etc/hosts is small; a huge one is cut), read a
// page at a time: a buffer of max bytes zeroed first cost init a page fault for each 4 KiB of
// it, a dozen microseconds each on a virtual machine.
std::string read_up_to(int fd, size_t max) {
    std::string out;
    char buf[4096];
    while (out.size() < max) {
        ssize_t n = ::read(fd, buf, std::min(sizeof buf, max - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

void attach(int tree, int target, const std::string& what) {
    check(sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
          "mount " + what);
}

void mount_fs(const char* type, int target, unsigned long flags, const std::string& data,
              const std::string& what) {
    if (::mount(type, fd_path(target).c_str(), type, flags,
                data.empty() ? nullptr : data.c_str()) != 0)
        throw Error("mount " + what, errno);
}

// A path of the new root opened without following any symlink, for kakuri's own state: a link
// there now was not there when the plan was made (fail closed). make: create the missing
// directories first, with mode; an empty fd when the path is missing and cannot be made (a
// read-only bind, a directory that is not ours: then nothing inside can make it either).
UniqueFd open_exact(int root, const std::string& path, bool make, mode_t mode = 0755) {
    const unsigned long long how = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
    std::string rel = path == "/" ? "." : path.substr(1);
    auto refused_link = [&] {
        return Error("hide kakuri's own state at " + path +
                     ": a symbolic link is in the way that was not there when the container "
                     "was planned");
    };
    int fd = sys_openat2(root, rel.c_str(), O_PATH | O_CLOEXEC, 0, how);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == ELOOP) throw refused_link();
    if (errno != ENOENT && errno != ENOTDIR)
        throw Error("open " + path + " in the new root", errno);
    if (!make || errno == ENOTDIR) return UniqueFd();
    UniqueFd parent = open_exact(root, parent_path(path), true, mode);
    if (!parent) return UniqueFd();
    if (mkdirat(parent.get(), base_name(path).c_str(), mode) != 0 && errno != EEXIST) {
        if (errno == EACCES || errno == EPERM || errno == EROFS || errno == EOVERFLOW)
            return UniqueFd();
        throw Error("create " + path, errno);
    }
    fd = sys_openat2(root, rel.c_str(), O_PATH | O_CLOEXEC, 0, how);
    if (fd < 0 && errno == ELOOP) throw refused_link();
    if (fd < 0) throw Error("open " + path + " in the new root", errno);
    return UniqueFd(fd);
}

// A host path the plan names, opened without following any symlink: spec.cpp resolved it and
// decided on what it is, and a link swapped in since (`dir -> /proc/sys/kernel`, `-> ~`) must
// not change what gets mounted.
UniqueFd open_host(const std::string& path, int flags = 0) {
    int fd =
        sys_openat2(AT_FDCWD, path.c_str(), O_PATH | O_CLOEXEC | flags, 0, RESOLVE_NO_SYMLINKS);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == ELOOP)
        throw Error("open " + path + ": it leads through a symbolic link now, which it did " +
                    "not when kakuri decided to mount it (not followed)");
    throw Error("open " + path, errno);
}

// A detached copy of a host tree (from: src opened), taken before the staging tmpfs can hide it.
UniqueFd clone_tree(const std::string& src, bool recursive, int from = -1) {
    UniqueFd opened = from < 0 ? open_host(src) : UniqueFd();
    unsigned flags =
        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    int fd = sys_open_tree(from < 0 ? opened.get() : from, "", flags);
    if (fd < 0) throw Error("open " + src, errno);
    return UniqueFd(fd);
}

// A detached copy of what the new root has at fd, to be put back over it.
UniqueFd clone_in_root(int fd, const std::string& what) {
    return UniqueFd(check(
        sys_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH),
        "clone " + what));
}

std::string mode_option(mode_t m) {
    char buf[16];
    snprintf(buf, sizeof buf, "mode=%04o", static_cast<unsigned>(m));
    return buf;
}

struct Layer {
    UniqueFd upper, work;  // a persistent upper layer and its work directory
};

struct Apply {
    const Plan& plan;
    std::map<size_t, UniqueFd> opened;  // host trees and dirs, by step index
    std::map<size_t, Layer> layers;     // on-disk upper layers, by step index
    UniqueFd stage;
    UniqueFd root;
    int layer = 0;
    UniqueFd files;  // the staging tmpfs's directory of FileOver's files
    int file_count = 0;
    int fresh_count = 0;  // the staging tmpfs's fresh directories made so far
    std::map<std::string, UniqueFd> mask_sources;  // MaskFile sources (/dev/null), opened
    LastDir last_dir;
    // Directories of the new root that kakuri made empty and has put nothing in since but its
    // own steps (a tmpfs root, a fresh /dev), and what it made in them: there a mount point is
    // made without a lookup first. Forgotten once a step mounts at or above one (step).
    std::set<std::string> fresh, made;

    void open_host_sources() {
        for (size_t i = 0; i < plan.steps.size(); ++i) {
            const Step& s = plan.steps[i];
            switch (s.kind) {
            case StepKind::Bind: {
                UniqueFd t = clone_tree(s.source, true);
                unsigned long long attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                if (s.ro) attr |= MOUNT_ATTR_RDONLY;
                check(sys_mount_setattr(t.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, attr, 0),
                      "set mount flags of " + s.source);
                opened[i] = std::move(t);
                break;
            }
            case StepKind::Sysfs: {
                if (s.source.empty()) break;  // a new one, mounted at its step
                UniqueFd t = clone_tree(s.source, true);
                check(sys_mount_setattr(t.get(), "", AT_EMPTY_PATH | AT_RECURSIVE,
                                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                            MOUNT_ATTR_NOEXEC,
                                        0),
                      "make /sys read-only");
                opened[i] = std::move(t);
                break;
            }
            case StepKind::DevNode: opened[i] = clone_tree(s.source, false); break;
            case StepKind::MaskFile:
                // The source (/dev/null), opened once for all of them; cloned at the step,
                // only where the target exists (mask_file).
                if (!mask_sources.count(s.source)) mask_sources[s.source] = open_host(s.source);
                break;
            case StepKind::RootOverlay:
            case StepKind::Overlay: {
                // Opened now: the staging tmpfs is about to hide /tmp, where a root filesystem
                // or a persistent container may well lie.
                opened[i] = open_host(s.source, O_DIRECTORY);
                if (!s.upper.empty())
                    layers[i] =
                        Layer{open_host(s.upper, O_DIRECTORY), open_host(s.work, O_DIRECTORY)};
                break;
            }
            default: break;
            }
        }
    }

    // The staging tmpfs and, in it, the (empty) mount point of the new root. Every writable
    // layer the container keeps in memory is a directory of it (README, "Resource limits"):
    // one size bounds them all.
    UniqueFd make_stage(mode_t root_mode = 0755) {
        {
            UniqueFd host_tmp(::open(kStage, O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!host_tmp) throw Error(std::string("open the host's ") + kStage, errno);
            std::string data = "mode=0700";
            // Files cost kernel memory beyond their data (an inode and a dentry, about 1 KiB):
            // with a budget, one file per 8 KiB of it (README, "Resource limits").
            if (const uint64_t size = plan.policy.limits.tmpfs_size)
                data += ",size=" + std::to_string(size) +
                        ",nr_inodes=" + std::to_string(std::max<uint64_t>(1024, size / 8192));
            mount_fs("tmpfs", host_tmp.get(), MS_NOSUID | MS_NODEV, data, "the staging tmpfs");
        }
        stage = UniqueFd(check(::open(kStage, O_PATH | O_DIRECTORY | O_CLOEXEC), "open staging"));
        check(mkdirat(stage.get(), "root", root_mode), "create the root mount point");
        check(mkdirat(stage.get(), "up", 0700), "create the upper layers' directory");
        return UniqueFd(
            check(openat(stage.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC), "open root"));
    }

    void open_root() {
        root = UniqueFd(check(openat(stage.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC),
                              "open the new root"));
    }

    // The root: the staging tmpfs's directory, bound onto itself (pivot_root wants a mount).
    // Init's umask is 0 (hold_signals), so that a mode is made as asked; only the set-id bits
    // need a chmod (mkdir drops them).
    void make_root(const Step& s) {
        UniqueFd mp = make_stage(s.mode);
        if (s.mode & (S_ISUID | S_ISGID))
            check(fchmodat(stage.get(), "root", s.mode, 0), "set the root's mode");
        UniqueFd tree(check(sys_open_tree(stage.get(), "root", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC),
                            "clone the root"));
        attach(tree.get(), mp.get(), "the root");
        root = std::move(tree);  // the tree's root, now mounted at the stage's root
        fresh = {"/"};
        made.clear();
    }

    // A new, empty directory of the staging tmpfs with the step's mode, detached: no path of
    // the container leads to it but where it is attached. A bind, not a tmpfs of its own: no
    // superblock to make, nor to tear down with the container.
    UniqueFd empty_dir(const Step& s) {
        const std::string name = "fresh" + std::to_string(fresh_count++);
        check(mkdirat(stage.get(), name.c_str(), s.mode), "create " + s.target);
        if (s.mode & (S_ISUID | S_ISGID))
            check(fchmodat(stage.get(), name.c_str(), s.mode, 0), "set the mode of " + s.target);
        UniqueFd tree(
            check(sys_open_tree(stage.get(), name.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC),
                  "clone " + s.target));
        // A mask: read-only and inert (the staging tmpfs itself is nosuid and nodev).
        if (s.kind == StepKind::MaskDir)
            check(sys_mount_setattr(
                      tree.get(), "", AT_EMPTY_PATH,
                      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                      0),
                  "make the mask of " + s.target + " read-only");
        return tree;
    }

    // A fresh, empty directory at the target (a fresh /tmp, /run, /dev).
    void fresh_dir(const Step& s) {
        attach(empty_dir(s).get(), mount_point(s.target, Create::Dir).get(),
               "a fresh directory on " + s.target);
        fresh.insert(s.target);
    }

    // Whether dir is a fresh directory, made now (with what is missing above it) where its
    // parent is one.
    bool make_fresh(const std::string& dir) {
        if (fresh.count(dir)) return true;
        if (dir == "/" || made.count(dir) || !make_fresh(parent_path(dir))) return false;
        const Parent parent = open_parent(root.get(), dir, &last_dir);
        made.insert(dir);
        if (mkdirat(parent.get(), base_name(dir).c_str(), 0755) != 0) {
            if (errno != EEXIST) throw Error("create mount point " + dir, errno);
            return false;
        }
        fresh.insert(dir);
        return true;
    }

    // A mount point (made where missing, as open_in_root does). In a fresh directory the name
    // is made straight away: a lookup first could only say ENOENT. Anything already there
    // (EEXIST: a step made it) is resolved as open_in_root resolves it. A file made here is
    // new and kakuri's own: its fd is the mount point.
    UniqueFd mount_point(const std::string& path, Create c) {
        if (!made.count(path) && make_fresh(parent_path(path))) {
            made.insert(path);
            const Parent parent = open_parent(root.get(), path, &last_dir);
            const std::string name = base_name(path);
            if (c == Create::File) {
                UniqueFd f(openat(parent.get(), name.c_str(),
                                  O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444));
                if (f) return f;
            } else if (mkdirat(parent.get(), name.c_str(), 0755) == 0) {
                int fd = sys_openat2(parent.get(), name.c_str(), O_PATH | O_CLOEXEC, 0,
                                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                if (fd >= 0) return UniqueFd(fd);
            }
            if (errno != EEXIST) throw Error("create mount point " + path, errno);
        }
        return open_in_root(root.get(), path, c, 0755, &last_dir);
    }

    // The mask's source bound over the target, if it exists. Cloned only then: a detached
    // mount closed unattached costs the kernel an RCU grace period to dissolve (about one per
    // /proc file this kernel does not have, before).
    void mask_file(const Step& s) {
        UniqueFd t =
            s.own_state ? open_exact(root.get(), s.target, false) : open_existing(s.target);
        if (!t) return;
        UniqueFd m = clone_tree(s.source, false, mask_sources.at(s.source).get());
        if (s.ro)
            check(sys_mount_setattr(
                      m.get(), "", AT_EMPTY_PATH,
                      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                      0),
                  "make the mask of " + s.target + " read-only");
        attach(m.get(), t.get(), "mask on " + s.target);
    }

    // A sysfs of the container's network namespace, read-only. In a user namespace the kernel
    // makes one only where the /sys it sees is whole (no mount hides part of it, as docker and
    // podman hide /sys/firmware): there, the host's /sys read-only, as with its network.
    void new_sysfs(const Step& s) {
        const unsigned long long ro =
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        UniqueFd fs(check(sys_fsopen("sysfs", FSOPEN_CLOEXEC), "open sysfs"));
        UniqueFd m;
        if (sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0)
            m.reset(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, ro));
        if (!m && errno != EPERM) throw Error("mount a sysfs", errno);
        if (!m) {
            m = clone_tree("/sys", true);
            check(sys_mount_setattr(m.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, ro, 0),
                  "make /sys read-only");
        }
        attach(m.get(), mount_point(s.target, Create::Dir).get(), "sysfs on /sys");
    }

    void make_root_overlay(size_t i) {
        UniqueFd mp = make_stage();
        UniqueFd m = overlay_mount(i);
        attach(m.get(), mp.get(), "the root filesystem " + plan.steps[i].source);
        open_root();
        fresh.clear();
    }

    void overlay(size_t i) {
        UniqueFd m = overlay_mount(i);
        const Step& s = plan.steps[i];
        attach(m.get(), mount_point(s.target, Create::Dir).get(), "overlay on " + s.target);
    }

    // A detached overlay of step i's lower directory: its upper layer on disk, or a new one in
    // the staging tmpfs, with the lower directory's mode.
    UniqueFd overlay_mount(size_t i) {
        const Step& s = plan.steps[i];
        int lower = opened[i].get();
        std::string upper, work;
        auto on_disk = layers.find(i);
        if (on_disk != layers.end()) {
            upper = fd_path(on_disk->second.upper.get());
            work = fd_path(on_disk->second.work.get());
        } else {
            struct stat st;
            check(fstat(lower, &st), "stat " + s.source);
            std::string dir = std::string(kStage) + "/up/" + std::to_string(layer++);
            check(mkdir(dir.c_str(), 0700), "create upper layer for " + s.target);
            check(mkdir((dir + "/u").c_str(), st.st_mode & 07777),
                  "create upper layer for " + s.target);
            check(mkdir((dir + "/w").c_str(), 0700), "create work dir for " + s.target);
            upper = dir + "/u";
            work = dir + "/w";
        }

        UniqueFd fs(check(sys_fsopen("overlay", FSOPEN_CLOEXEC), "open overlayfs"));
        std::string lowerdir = fd_path(lower);
        auto set = [&](const char* key, const std::string& value) {
            check(sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0),
                  std::string("overlay ") + key + " for " + s.target);
        };
        set("lowerdir", lowerdir);
        set("upperdir", upper);
        set("workdir", work);
        // In a user namespace the kernel only allows user.* xattrs for overlay metadata.
        if (plan.identity.userns)
            check(sys_fsconfig(fs.get(), FSCONFIG_SET_FLAG, "userxattr", nullptr, 0),
                  "overlay userxattr for " + s.target);
        // A change set's upper layer holds whole files and whiteouts (what apply reads): no
        // redirect of a renamed directory, no metadata-only copy-up. In a user namespace
        // userxattr already rules both out.
        if (s.cow && !plan.identity.userns) {
            set("redirect_dir", "nofollow");
            set("metacopy", "off");
        }
        check(sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0),
              "mount overlay on " + s.target);
        // nodev: device nodes a root filesystem's tarball brought along stay inert; a host
        // directory shown copy-on-write is nosuid as a bind is.
        const unsigned attr = MOUNT_ATTR_NODEV | (s.cow ? MOUNT_ATTR_NOSUID : 0);
        return UniqueFd(
            check(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, attr), "mount overlay on " + s.target));
    }

    void symlink(const Step& s) {
        const Parent parent = open_parent(root.get(), s.target, &last_dir);
        if (symlinkat(s.source.c_str(), parent.get(), base_name(s.target).c_str()) == 0)
            made.insert(s.target);
        else if (errno != EEXIST)
            throw Error("create symlink " + s.target, errno);
    }

    void mkdir_step(const Step& s) {
        const Parent parent = open_parent(root.get(), s.target, &last_dir);
        if (mkdirat(parent.get(), base_name(s.target).c_str(), s.mode) == 0) {
            made.insert(s.target);
            if (fresh.count(parent_path(s.target))) fresh.insert(s.target);
        } else if (errno != EEXIST) {
            throw Error("create directory " + s.target, errno);
        }
    }

    // File: a new file in the container's own space (a fresh /run). FileOver: the text in a file
    // of the staging tmpfs, which no path inside names, bound over the root's file when it has one
    // (for /etc, an overlay the kernel will not copy host root's files up in unprivileged).
    void file_step(const Step& s) {
        if (s.kind == StepKind::File) {
            const Parent parent = open_parent(root.get(), s.target, &last_dir);
            UniqueFd f(openat(parent.get(), base_name(s.target).c_str(),
                              O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, s.mode));
            if (!f) throw Error("create " + s.target, errno);
            made.insert(s.target);
            write_all(f.get(), s.text, s.target);
            return;
        }
        const std::string rel = s.target.substr(1);
        UniqueFd target(sys_openat2(root.get(), rel.c_str(), O_PATH | O_CLOEXEC, 0, kResolve));
        if (!target && errno == ENOENT) return;
        if (!target) throw Error("open " + s.target + " in the new root", errno);
        struct stat st;
        check(fstat(target.get(), &st), "stat " + s.target);
        if (!S_ISREG(st.st_mode)) return;
        std::string text = s.text;
        if (s.append) {
            UniqueFd old(sys_openat2(root.get(), rel.c_str(), O_RDONLY | O_CLOEXEC, 0, kResolve));
            std::string was = old ? read_up_to(old.get(), 64 * 1024) : "";
            if (!was.empty() && was.back() != '\n') was += '\n';
            text = was + text;
        }
        if (!files) {
            // In the staging tmpfs, beside the new root: no name inside leads there.
            check(mkdirat(stage.get(), "files", 0755), "create the directory of files");
            files.reset(check(openat(stage.get(), "files", O_PATH | O_DIRECTORY | O_CLOEXEC),
                              "open the directory of files"));
        }
        const std::string name = std::to_string(file_count++);
        UniqueFd f(
            openat(files.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, s.mode));
        if (!f) throw Error("create the file for " + s.target, errno);
        write_all(f.get(), text, s.target);
        UniqueFd tree(
            check(sys_open_tree(files.get(), name.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC),
                  "clone the file for " + s.target));
        attach(tree.get(), target.get(), "a file of its own on " + s.target);
    }

    // A tree bound at the target: a device node on a file, anything else on what it is.
    void bind(const Step& s, int tree) {
        Create c = Create::File;
        if (s.kind != StepKind::DevNode) {
            struct stat st;
            check(fstat(tree, &st), "stat " + s.source);
            if (S_ISDIR(st.st_mode)) c = Create::Dir;
        }
        attach(tree, mount_point(s.target, c).get(), s.source + " on " + s.target);
    }

    static bool is_controller(const std::string& o) {
        for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls",
                              "net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc"})
            if (o == c) return true;
        return false;
    }

    // A tmpfs at the target holding, for each cgroup hierarchy the host mounts below the same
    // path, that hierarchy mounted anew with the host's options: in the container's cgroup
    // namespace its root is the container's cgroup. Then all of it read-only.
    void cgroup_fs(const Step& s) {
        std::string mountinfo;
        read_file("/proc/self/mountinfo", mountinfo);
        UniqueFd target = mount_point(s.target, Create::Dir);
        mount_fs("tmpfs", target.get(), MS_NOSUID | MS_NODEV | MS_NOEXEC, mode_option(s.mode),
                 "tmpfs on " + s.target);
        target = open_in_root(root.get(), s.target, Create::None);
        std::istringstream in(mountinfo);
        for (std::string line; std::getline(in, line);) {
            std::istringstream fields(line);
            std::vector<std::string> f;
            for (std::string w; fields >> w;) f.push_back(w);
            auto dash = std::find(f.begin(), f.end(), "-");
            if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
            const std::string& type = dash[1];
            if ((type != "cgroup" && type != "cgroup2") || !path_within(f[4], s.target)) continue;
            const std::string rel = f[4] == s.target ? "" : f[4].substr(s.target.size() + 1);
            if (rel.find('/') != std::string::npos || rel.find('\\') != std::string::npos) continue;
            // v1: the hierarchy's controllers or name=, nothing else of the host's options (never
            // a release_agent, CVE-2022-0492); v2: none (nsdelegate is the root namespace's).
            std::string data;
            for (const auto& o : split(dash[3], ','))
                if (type == "cgroup" && (o.rfind("name=", 0) == 0 || is_controller(o)))
                    data += (data.empty() ? "" : ",") + o;
            if (type == "cgroup" && data.empty()) continue;
            UniqueFd at =
                rel.empty()
                    ? UniqueFd(check(fcntl(target.get(), F_DUPFD_CLOEXEC, 0), "dup"))
                    : [&] {
                          if (mkdirat(target.get(), rel.c_str(), 0755) != 0 && errno != EEXIST)
                              throw Error("create " + s.target + "/" + rel, errno);
                          return UniqueFd(
                              check(openat(target.get(), rel.c_str(),
                                           O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                    "open " + s.target + "/" + rel));
                      }();
            // What to see, not what holds the limits (the cgroup does, whatever is seen): a
            // hierarchy the kernel will not mount here stays an empty directory.
            (void)!::mount(type.c_str(), fd_path(at.get()).c_str(), type.c_str(),
                           MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                           data.empty() ? nullptr : data.c_str());
        }
        UniqueFd tree = clone_in_root(target.get(), s.target);
        check(sys_mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0),
              "make " + s.target + " read-only");
        attach(tree.get(), target.get(), s.target + " read-only");
    }

    // The target, or an empty fd when it does not exist (kernel-dependent /proc files).
    UniqueFd open_existing(const std::string& path) {
        int fd = sys_openat2(root.get(), path.substr(1).c_str(), O_PATH | O_CLOEXEC, 0, kResolve);
        if (fd < 0 && errno != ENOENT) throw Error("open " + path + " in the new root", errno);
        return UniqueFd(fd);
    }

    void pivot() {
        // pivot_root(".", ".") stacks the old root on the new one; detaching it
        // leaves only the new root (no directory for the old root is needed).
        check(fchdir(root.get()), "enter the new root");
        check(sys_pivot_root(".", "."), "pivot_root");
        check(umount2(".", MNT_DETACH), "detach the old root");
        check(chdir("/"), "chdir /");
        root.reset();
        stage.reset();
        fresh.clear();
        made.clear();
    }

    static bool mounts(StepKind k) {
        return k != StepKind::Symlink && k != StepKind::Mkdir && k != StepKind::File;
    }

    // The paths of known at or below target (below only, with keep_target).
    static void forget_within(std::set<std::string>& known, const std::string& target,
                              bool keep_target) {
        for (auto f = known.begin(); f != known.end();)
            f = path_within(*f, target) && !(keep_target && *f == target) ? known.erase(f)
                                                                          : std::next(f);
    }

    void step(size_t i) {
        const Step& s = plan.steps[i];
        // What a mount covers is no longer what kakuri made there (the target itself is still
        // there, but no longer fresh).
        if (mounts(s.kind)) {
            forget_within(fresh, s.target, false);
            forget_within(made, s.target, true);
        }
        do_step(s, i);
        // A mount at the kept directory or above it hides what the fd holds.
        if (last_dir.fd && (path_within(last_dir.path, s.target) || s.kind == StepKind::RootTmpfs ||
                            s.kind == StepKind::RootOverlay || s.kind == StepKind::PivotRoot))
            last_dir = LastDir();
    }

    void do_step(const Step& s, size_t i) {
        switch (s.kind) {
        case StepKind::RootTmpfs: make_root(s); break;
        case StepKind::RootOverlay: make_root_overlay(i); break;
        case StepKind::Overlay: overlay(i); break;
        case StepKind::Symlink: symlink(s); break;
        case StepKind::Mkdir: mkdir_step(s); break;
        case StepKind::Tmpfs: fresh_dir(s); break;
        case StepKind::DevNode: bind(s, opened[i].get()); break;
        case StepKind::Devpts:
            // No gid= option: gid 5 (tty) is usually not mapped in a user namespace.
            mount_fs("devpts", mount_point(s.target, Create::Dir).get(), MS_NOSUID | MS_NOEXEC,
                     "newinstance,ptmxmode=0666,mode=620", "devpts on " + s.target);
            break;
        case StepKind::Proc:
            try {
                mount_fs("proc", mount_point(s.target, Create::Dir).get(),
                         MS_NOSUID | MS_NODEV | MS_NOEXEC, "", "/proc");
            } catch (const Error& e) {
                if (e.err() != EPERM) throw;
                throw e.wrap("cannot mount /proc: ",
                             " (is kakuri running inside another container whose /proc is "
                             "partly hidden? nested containers need the outer one to allow it)");
            }
            break;
        case StepKind::Sysfs:
            if (s.source.empty()) {
                new_sysfs(s);
                break;
            }
            bind(s, opened[i].get());
            break;
        case StepKind::Bind: bind(s, opened[i].get()); break;
        case StepKind::CgroupFs: cgroup_fs(s); break;
        case StepKind::PivotRoot: pivot(); break;
        case StepKind::File:
        case StepKind::FileOver: file_step(s); break;
        case StepKind::MaskFile: mask_file(s); break;
        case StepKind::MaskDir:
            if (UniqueFd t = s.own_state ? open_exact(root.get(), s.target, s.make, s.mode)
                                         : open_existing(s.target))
                attach(empty_dir(s).get(), t.get(), "mask on " + s.target);
            break;
        case StepKind::Pin:
            if (UniqueFd t = open_exact(root.get(), s.target, s.make, s.mode)) {
                UniqueFd tree = clone_in_root(t.get(), s.target);
                attach(tree.get(), t.get(), s.target + " onto itself");
            }
            break;
        case StepKind::ReadOnly:
            if (UniqueFd t = open_existing(s.target)) {
                UniqueFd tree = clone_in_root(t.get(), s.target);
                check(
                    sys_mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE,
                                      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0),
                    "make " + s.target + " read-only");
                attach(tree.get(), t.get(), s.target + " read-only");
            }
            break;
        }
    }
};

}  // namespace

void apply_mounts(const Plan& plan) {
    // Nothing mounted from here on may propagate back to the host.
    check(::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr), "make / a slave mount");
    Apply a{plan, {}, {}, {}, {}, 0, {}, 0, 0, {}, {}, {}, {}};
    a.open_host_sources();
    for (size_t i = 0; i < plan.steps.size(); ++i) a.step(i);
}

}  // namespace kakuri
