// trust: opening what kakuri acts on for its caller (config files, the container store) only
// when nobody but the caller or root can have put it there, as OpenSSH's StrictModes does.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "sys.hpp"

namespace kakuri {

// "refusing PATH: what is wrong": something kakuri was about to act on may not be trusted.
class Refusal : public Error {
public:
    using Error::Error;
};

enum class TrustAs {
    Ancestor,   // a directory on the way: may be writable by others if sticky and root's (/tmp)
    Directory,  // the directory itself: writable by nobody else, whatever its mode bits say
    File,
};

// Why an object with this stat may not be trusted by caller; "" when it may. Trusted: owned
// by caller or root and not writable by group or others (symlinks: owned by caller or root).
std::string distrust(const struct stat& st, uid_t caller, TrustAs as);

struct Trusted {
    UniqueFd fd;        // O_PATH; invalid when the path could not be opened (see err)
    int err = 0;        // then: ENOENT or ENOTDIR (nothing there), or why it could not be opened
    struct stat st {};  // of fd
    std::string path;   // as walked: absolute, symlinks resolved (a /proc magic link: as given)
};

// Opens an absolute path one component at a time from / (O_NOFOLLOW, fstat of each opened
// fd, never a check by name and a use by name). Every directory on the way must be trusted as
// an Ancestor, the object itself as a Directory or a File. A symlink is followed only when the
// caller or root owns it (it then lies in a directory only they can write), a /proc magic
// link (/dev/fd/N) by the kernel. Throws Error("refusing PATH: what is wrong") when something
// is not to be trusted and PATH exists: what lies behind an untrusted directory does not, so
// a file missing there is just missing.
Trusted open_trusted(const std::string& path, uid_t caller);

// The same for a directory kakuri keeps its own things in, making what is missing (mode
// 0700). Returns O_RDONLY | O_DIRECTORY; throws the refusal also when it had to make it.
Trusted make_trusted_dir(const std::string& path, uid_t caller);

// A directory kakuri keeps its own things in (containers_dir, changes_dir; `what` names it in
// messages) that may not be made yet: opened as open_trusted walks it, then O_RDONLY |
// O_DIRECTORY. fd invalid when nothing is there (ENOENT, ENOTDIR on the way); throws when it
// cannot be opened, is not a directory or may not be trusted.
Trusted open_trusted_dir(const std::string& path, uid_t caller, const std::string& what);

// An O_PATH fd opened for reading (through /proc/self/fd: the same inode, no name looked up).
UniqueFd reopen(int opath_fd, int flags);

}  // namespace kakuri
