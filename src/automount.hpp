// automount: which command arguments name host paths, what to bind for them, and where a
// command comes from (README, "Automatic path mounting and PATH resolution"). Pure: every
// file-system fact arrives through a callback.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "container.hpp"

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

struct AutoMounts {
    // Resolved host paths to bind at the same path, nested ones merged, in the order the
    // arguments first named them.
    std::vector<std::string> mounts;
    // The links the mounted arguments went through, in order, each once.
    std::vector<PathLink> links;
    // Why an argument mounted nothing (for -v).
    std::vector<std::string> notes;
};

// What to mount for those args and, when workdir is not empty, for the working directory the
// caller started kakuri in (a directory the user named by standing in it: the same rules as an
// argument, so `/`, $HOME itself, system directories and kakuri's state stay out). Every rule
// applies to the path resolved through its links.
AutoMounts plan_auto_mounts(const std::vector<std::string>& args, const HostView& h,
                            const std::string& workdir = "");
// Only the mounts.
std::vector<std::string> auto_mounts(const std::vector<std::string>& args, const HostView& h);

struct CommandResolution {
    enum Kind { Inside, FromHost, NotFound } kind = NotFound;
    // Inside: what to exec: the name unchanged when the container's PATH finds the same file the
    // caller's would, else the absolute path. FromHost: the absolute path, as the caller names
    // it, to run once `bind` is there.
    std::string path;
    // FromHost: the host path to bind read-only at the same path: the file; for a command named
    // with a slash, its directory (a script's siblings); for one in a Python virtual environment
    // (pyvenv.cfg beside its bin/), the environment's root, so its interpreter finds it.
    std::string bind;
};

// The program the caller's shell would run, made visible (README, "Automatic path mounting and
// PATH resolution"). A name without a slash: the first executable on the caller's PATH, in its
// order; when the container cannot see it, FromHost; when nothing there matches, the container's
// PATH (Inside), else NotFound. A name with a slash (relative to h.cwd): Inside when visible or
// not an executable host file, else FromHost. Empty and relative PATH entries are skipped. What
// h.refused names, or a shared fresh directory (/tmp) around the file, is never bound whole.
CommandResolution resolve_command(const std::string& name, const std::string& container_path,
                                  const std::string& caller_path, const HostView& h,
                                  const std::function<bool(const std::string&)>& executable);

}  // namespace kakuri
