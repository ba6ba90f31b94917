// automount: which command arguments name host paths, what to bind for them, and where a
// command comes from (README, "Automatic path mounting and PATH resolution"). Pure: every
// file-system fact arrives through a callback.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace kakuri {

enum class PathKind { Missing, Directory, File };

// The caller's side of the host as the automount rules need it.
struct HostView {
    std::string home;  // caller's $HOME (normalized, absolute); empty: `~` words are not paths
    std::string cwd;   // caller's cwd (absolute)
    // stat (following symlinks) of an absolute host path
    std::function<PathKind(const std::string&)> kind;
    // The host path with every symlink in it resolved, as realpath(3) does; what does not exist
    // is kept as written (a dangling link resolves to where it points).
    std::function<std::string(const std::string&)> resolve = [](const std::string& p) { return p; };
    // already visible in the container at the same path (system dirs, explicit binds)
    std::function<bool(const std::string&)> visible;
    // Why nothing at or below this resolved host path may ever be mounted ("" when it may): the
    // kernel's file systems, kakuri's own state.
    std::function<std::string(const std::string&)> refused = [](const std::string&) {
        return std::string();
    };
    // The directories the container gets fresh (/tmp, /var/tmp, /run), as resolved host paths.
    std::vector<std::string> fresh;
};

// Which argument words look like paths, as absolute normalized host paths (in order, duplicates
// removed). `args` are the command's arguments, without the command name.
std::vector<std::string> detect_paths(const std::vector<std::string>& args, const HostView& h);

// A symbolic link on the way to a mounted path: `path` (all its directories resolved) leads to
// `target` (resolved). Made inside, it lets the argument reach what was mounted.
struct PathLink {
    std::string path;
    std::string target;
    bool operator==(const PathLink& o) const { return path == o.path && target == o.target; }
};

struct AutoMounts {
    // Resolved host paths to bind at the same path, nested ones merged, in the order the
    // arguments first named them.
    std::vector<std::string> mounts;
    // The links the mounted arguments went through, in order, each once.
    std::vector<PathLink> links;
    // Why an argument mounted nothing (for -v).
    std::vector<std::string> notes;
};

// What to mount for those args. Every rule applies to the path resolved through its links.
AutoMounts plan_auto_mounts(const std::vector<std::string>& args, const HostView& h);
// Only the mounts.
std::vector<std::string> auto_mounts(const std::vector<std::string>& args, const HostView& h);

struct CommandResolution {
    enum Kind { Inside, FromHost, NotFound } kind = NotFound;
    // Inside: what to exec: the name unchanged when found on the container's PATH, or the
    // absolute path when found only on the caller's PATH in a directory visible inside.
    // FromHost: the absolute host file to bind read-only at the same path and run.
    std::string path;
};

// A command without a slash: found on the container's PATH in a visible directory -> Inside;
// else found on the caller's PATH in a directory the container cannot see -> FromHost (that
// file), or in one it can see -> Inside (that file); else NotFound. A command with a slash ->
// Inside (no lookup). Empty and relative PATH entries are skipped. `visible` is asked about
// the candidate file; `executable(path)` says whether a host file is an executable regular file.
CommandResolution resolve_command(const std::string& name, const std::string& container_path,
                                  const std::string& caller_path,
                                  const std::function<bool(const std::string&)>& visible,
                                  const std::function<bool(const std::string&)>& executable);

}  // namespace kakuri
