// trust: the owner and mode rules, and the walk from / that applies them by fd.
#include "trust.hpp"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "paths.hpp"

namespace kakuri {

namespace {

bool on_procfs(int fd) {
    struct statfs s;
    return fstatfs(fd, &s) == 0 && s.f_type == PROC_SUPER_MAGIC;
}

// Kernel limit on symlinks followed in one lookup (MAXSYMLINKS).
const int kMaxLinks = 40;

// One function, longer than most: the walk holds one directory fd from / down and decides on
// each step as it takes it (StrictModes' checks, links resolved by hand within kMaxLinks);
// split, the pieces would pass that state back and forth and hide the order that makes it safe.
Trusted walk(const std::string& given, uid_t caller, bool create) {
    if (given.empty() || given[0] != '/')
        throw Error("internal error: " + given + " is not an absolute path");
    std::deque<std::string> todo;
    for (auto& c : path_components(given)) todo.push_back(std::move(c));
    std::vector<std::string> done;  // the path walked so far, symlinks resolved
    bool magic = false;             // a /proc magic link was followed: the walked path is unknown
    auto here = [&] { return magic ? given : join_components(done); };

    // The first thing found that is not to be trusted. Refused once the path is known to exist:
    // nothing is followed behind it, and a path missing there is only missing.
    std::string bad_where, bad_why;
    auto note = [&](const std::string& where, const std::string& why) {
        if (bad_why.empty() && !why.empty()) bad_where = where, bad_why = why;
    };
    auto refusal = [&]() -> Refusal {
        if (bad_where == given) return Refusal("refusing " + given + ": " + bad_why);
        return Refusal("refusing " + given + ": " + bad_where + " is " + bad_why);
    };

    Trusted t;
    auto failed = [&](int err) {
        t.err = err;
        return std::move(t);
    };
    struct stat st;
    UniqueFd cur(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cur || fstat(cur.get(), &st) != 0) return failed(errno);
    note("/", distrust(st, caller, TrustAs::Ancestor));
    int links = 0;
    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (!S_ISDIR(st.st_mode)) return failed(ENOTDIR);
        if (c == "..") {
            UniqueFd up(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!up || fstat(up.get(), &st) != 0) return failed(errno);
            if (!done.empty()) done.pop_back();
            cur = std::move(up);
            note(here(), distrust(st, caller, TrustAs::Ancestor));
            continue;
        }
        std::vector<std::string> next_done = done;
        next_done.push_back(c);
        const std::string next_path = magic ? given : join_components(next_done);
        UniqueFd next(::openat(cur.get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!next && errno == ENOENT && create) {
            if (!bad_why.empty()) throw refusal();
            if (mkdirat(cur.get(), c.c_str(), 0700) != 0 && errno != EEXIST)
                throw Error("create " + next_path, errno);
            next.reset(::openat(cur.get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        }
        if (!next) return failed(errno);
        struct stat nst;
        if (fstat(next.get(), &nst) != 0) return failed(errno);
        if (S_ISLNK(nst.st_mode)) {
            std::string why = distrust(nst, caller, TrustAs::File);
            note(next_path, why.empty() ? "" : "a symlink " + why);
            if (!bad_why.empty()) throw refusal();
            if (++links > kMaxLinks) return failed(ELOOP);
            if (on_procfs(cur.get())) {
                // A magic link (/proc/self, /proc/self/fd/N behind /dev/fd/N) names an object,
                // not a path: only the kernel can follow it. It lies in the caller's own /proc.
                next.reset(::openat(cur.get(), c.c_str(), O_PATH | O_CLOEXEC));
                if (!next || fstat(next.get(), &nst) != 0) return failed(errno);
                magic = true;
            } else {
                char buf[PATH_MAX];
                ssize_t n = readlinkat(next.get(), "", buf, sizeof buf);
                if (n < 0) return failed(errno);
                std::string target(buf, static_cast<size_t>(n));
                auto parts = path_components(target);
                todo.insert(todo.begin(), parts.begin(), parts.end());
                if (!target.empty() && target[0] == '/') {
                    cur.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
                    if (!cur || fstat(cur.get(), &st) != 0) return failed(errno);
                    done.clear();
                }
                continue;
            }
        } else {
            done = std::move(next_done);
        }
        cur = std::move(next);
        st = nst;
        if (S_ISDIR(st.st_mode)) note(here(), distrust(st, caller, TrustAs::Ancestor));
    }
    const std::string object = here();
    note(object, distrust(st, caller, S_ISDIR(st.st_mode) ? TrustAs::Directory : TrustAs::File));
    if (!bad_why.empty()) throw refusal();
    t.fd = std::move(cur);
    t.st = st;
    t.path = object;
    return t;
}

}  // namespace

std::string distrust(const struct stat& st, uid_t caller, TrustAs as) {
    if (st.st_uid != caller && st.st_uid != 0)
        return "owned by uid " + std::to_string(st.st_uid) + ", not by you or root";
    if (S_ISLNK(st.st_mode)) return "";
    const mode_t w = st.st_mode & (S_IWGRP | S_IWOTH);
    if (w == 0) return "";
    // Others may make entries in /tmp, but not replace or remove ours.
    if (as == TrustAs::Ancestor && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0)
        return "";
    char mode[16];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const char* who = w == S_IWGRP ? "its group" : w == S_IWOTH ? "others" : "its group and others";
    return std::string("writable by ") + who + " (mode " + mode + ")";
}

Trusted open_trusted(const std::string& path, uid_t caller) {
    return walk(path, caller, false);
}

Trusted make_trusted_dir(const std::string& path, uid_t caller) {
    Trusted t = walk(path, caller, true);
    if (!t.fd) throw Error("open " + path, t.err);
    if (!S_ISDIR(t.st.st_mode)) throw Error(path + " is not a directory");
    t.fd = reopen(t.fd.get(), O_RDONLY | O_DIRECTORY);
    if (!t.fd) throw Error("open " + path, errno);
    return t;
}

Trusted open_trusted_dir(const std::string& path, uid_t caller, const std::string& what) {
    Trusted t = walk(path, caller, false);
    if (!t.fd) {
        if (t.err == ENOENT || t.err == ENOTDIR) return t;  // made by the first that needs it
        throw Error("open " + path, t.err);
    }
    if (!S_ISDIR(t.st.st_mode)) throw Error(what + " " + path + " is not a directory");
    t.fd = reopen(t.fd.get(), O_RDONLY | O_DIRECTORY);
    if (!t.fd) throw Error("open " + path, errno);
    return t;
}

UniqueFd reopen(int opath_fd, int flags) {
    return UniqueFd(::open(fd_path(opath_fd).c_str(), flags | O_CLOEXEC | O_NOCTTY));
}

}  // namespace kakuri
