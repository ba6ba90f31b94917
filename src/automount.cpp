// automount: the rules for turning argument words into same-path binds (decided on what each
// path resolves to) and for finding a command on the container's or the caller's PATH, as
// README's "Automatic path mounting and PATH resolution" (kakuri(1), AUTOMATIC PATH MOUNTING)
// states them. No syscalls: the host is a HostView.
#include "automount.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <string_view>

#include "paths.hpp"

namespace kakuri {

namespace {

// Extensions that make a bare, not (yet) existing word a path, so `convert in.png out.jpg` or
// `tar czf backup.tar.gz dir` get their output directory. Deliberately absent: top-level domains
// that are not also file types (com, org, net, io, ...), so `ping example.com` stays a word,
// and one-letter ones other than well-known source suffixes. Packed: one a line is unreadable.
// clang-format off
constexpr std::string_view kFileExtensions[] = {
    // source code and build files
    "asm", "awk", "bash", "bat", "c", "c++", "cc", "cjs", "clj", "cljs", "cmake", "cmd", "cpp",
    "cs", "css", "cxx", "dart", "el", "erl", "ex", "exs", "fish", "fs", "go", "gradle", "h",
    "h++", "hh", "hpp", "hs", "htm", "html", "hxx", "ipynb", "java", "jl", "js", "jsx", "kt",
    "kts", "less", "lua", "m", "mjs", "mk", "ml", "mli", "mm", "nim", "php", "pl", "pm", "ps1",
    "py", "pyi", "pyw", "r", "rb", "rkt", "rs", "s", "sass", "scala", "scss", "sh", "sql",
    "svelte", "swift", "tcl", "ts", "tsx", "vim", "vue", "zig", "zsh", "patch", "diff",
    // data and configuration
    "arrow", "avro", "bin", "cfg", "conf", "csv", "dat", "db", "feather", "h5", "hdf5", "ini",
    "json", "jsonl", "lock", "log", "ndjson", "npy", "npz", "parquet", "pickle", "pkl", "proto",
    "sqlite", "sqlite3", "toml", "tsv", "txt", "xml", "yaml", "yml",
    // documents
    "adoc", "bib", "doc", "docx", "epub", "md", "odp", "ods", "odt", "pdf", "ppt", "pptx", "rst",
    "rtf", "tex", "xls", "xlsx",
    // archives, packages and disk images
    "7z", "bz2", "deb", "gz", "img", "iso", "jar", "lz4", "qcow2", "rar", "rpm", "tar", "tbz2",
    "tgz", "txz", "whl", "xz", "zip", "zst",
    // images, audio and video
    "avi", "bmp", "flac", "gif", "heic", "ico", "jpeg", "jpg", "m4a", "mkv", "mov", "mp3", "mp4",
    "ogg", "png", "psd", "svg", "tif", "tiff", "wav", "webm", "webp",
};
// clang-format on

bool has_file_extension(const std::string& word) {
    const std::string base = base_name(word);
    size_t dot = base.rfind('.');
    // A leading dot is a hidden name (".bashrc"), not an extension.
    if (dot == std::string::npos || dot == 0 || dot + 1 == base.size()) return false;
    std::string ext = base.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::find(std::begin(kFileExtensions), std::end(kFileExtensions), ext) !=
           std::end(kFileExtensions);
}

// The absolute host path a word names, or "" when the word does not look like a path.
std::string path_of_word(const std::string& word, const HostView& h) {
    if (word.empty() || word.find("://") != std::string::npos) return "";
    if (word[0] == '-') {
        // Only the value of a long option is looked at: in `-ofile` or `-o=file` there is no
        // telling option letters from the value without knowing the program.
        size_t eq = word.find('=');
        if (word.compare(0, 2, "--") != 0 || eq == std::string::npos) return "";
        return path_of_word(word.substr(eq + 1), h);
    }
    if (word[0] == '/') return normalize_path(word);
    if (word[0] == '~') {
        // `~user` would need the password database; it is left a plain word.
        if (h.home.empty() || !is_tilde_path(word)) return "";
        return normalize_path(expand_tilde(word, h.home));
    }
    std::string abs = normalize_path(h.cwd + "/" + word);
    if (word.compare(0, 2, "./") == 0 || word.compare(0, 3, "../") == 0) return abs;
    // A bare word ("install", "origin/main") is a path only if it names something or looks like
    // a file name: mounting for every word would expose the working directory to any command.
    if (h.kind(abs) != PathKind::Missing || has_file_extension(word)) return abs;
    return "";
}

struct Target {
    std::string path;  // what to bind, "" for nothing
    std::string why;   // for nothing: why
};

// What to bind so that p, which resolves to r on the host, can be used inside. Every rule is
// about r: a link a program planted in a directory it was given (`out -> /proc/sys/kernel`,
// `out -> ~`) must not widen what the next run exposes.
Target mount_target(const std::string& p, const std::string& r, const HostView& h) {
    const std::string home = h.home.empty() ? "" : h.resolve(h.home);
    // Binding / or $HOME over themselves would hand the whole tree to the program.
    auto too_wide = [&](const std::string& d) { return d == "/" || (!home.empty() && d == home); };
    if (too_wide(r)) return {"", "/ and $HOME are never mounted whole"};
    std::string why = h.refused(r);
    if (!why.empty()) return {"", why};
    const PathKind kind = h.kind(r);
    std::string target;
    // /tmp and its kind are shared with everything else on the host (other users' files, the
    // sockets of tmux, ssh-agent, X): the container has its own, and only what the argument
    // names goes in, never a directory around it. $HOME is its own place even when it lies in
    // /tmp (throw-away accounts).
    const bool in_home = !home.empty() && path_within(r, home);
    for (const auto& f : h.fresh) {
        if (in_home || !path_within(r, f)) continue;
        if (r == f) return {"", "the container has its own, fresh " + f};
        // A link into it (`out -> /tmp/tmux-1000/default`) is exactly how a program would
        // steer the next run to a socket; a path there has to be named as it is.
        if (p != r) return {"", "a symbolic link into " + f + ", which is shared on the host"};
        if (kind == PathKind::Missing)
            return {"", "it does not exist, and the container writes into its own, fresh " + f};
        target = r;
    }
    if (target.empty()) {
        switch (kind) {
        case PathKind::Directory: target = r; break;
        case PathKind::File:
            // The parent, so siblings, imports and editors' write-temp-then-rename saves work; a
            // file directly in / or $HOME can only go alone.
            target = too_wide(parent_path(r)) ? r : parent_path(r);
            break;
        case PathKind::Missing: {
            // An output to be created needs its directory; one directly in / or $HOME gets
            // nothing.
            std::string parent = parent_path(r);
            if (too_wide(parent)) return {"", "a new file directly in / or $HOME"};
            if (h.kind(parent) != PathKind::Directory)
                return {"", parent + " is not an existing directory"};
            target = parent;
            break;
        }
        }
    }
    // Already there at the same path: binding the host's copy again would, for /etc or /usr,
    // turn the container's read-only view into the host's writable one.
    if (h.visible(target)) return {"", target + " is already visible inside"};
    return {target, ""};
}

// The links met on the way from / to p, each as (its path with every directory above it
// resolved, where it leads), following on from where each one leads.
std::vector<PathLink> links_on_the_way(const std::string& p, const HostView& h) {
    std::vector<PathLink> out;
    std::string cur;  // resolved so far; "" is /
    for (const auto& name : path_components(p)) {
        std::string next = cur + "/" + name;
        std::string r = h.resolve(next);
        if (r != next) out.push_back({next, r});
        cur = r == "/" ? "" : r;
    }
    return out;
}

void append_unique(std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

std::vector<std::string> detect_paths(const std::vector<std::string>& args, const HostView& h) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        std::string p = path_of_word(a, h);
        if (!p.empty()) append_unique(out, p);
    }
    return out;
}

AutoMounts plan_auto_mounts(const std::vector<std::string>& args, const HostView& h,
                            const std::string& workdir) {
    AutoMounts out;
    std::vector<std::string> targets;
    std::vector<std::string> paths = detect_paths(args, h);
    if (!workdir.empty()) append_unique(paths, normalize_path(workdir));
    const std::string home = h.home.empty() ? "" : h.resolve(h.home);
    for (const auto& p : paths) {
        const std::string r = h.resolve(p);
        const bool cwd = p == normalize_path(workdir);
        // Standing in /, $HOME, a directory the container shows anyway (/etc, a bind) or one that
        // vanished is the common case, not worth a note.
        if (cwd && (r == "/" || r == home || h.kind(r) != PathKind::Directory || h.visible(r)))
            continue;
        Target t = mount_target(p, r, h);
        if (t.path.empty()) {
            out.notes.push_back("not mounted: " + std::string(cwd ? "working directory " : "") + p +
                                (p == r ? "" : " (-> " + r + ")") + ": " + t.why);
            continue;
        }
        append_unique(targets, t.path);
        if (p == r) continue;
        for (const auto& l : links_on_the_way(p, h))
            if (std::find(out.links.begin(), out.links.end(), l) == out.links.end())
                out.links.push_back(l);
    }
    // A bind inside another one adds nothing and would only hide what the outer one shows.
    for (const auto& t : targets) {
        bool nested = std::any_of(targets.begin(), targets.end(), [&](const std::string& o) {
            return o != t && path_within(t, o);
        });
        if (!nested) out.mounts.push_back(t);
    }
    return out;
}

std::vector<std::string> auto_mounts(const std::vector<std::string>& args, const HostView& h) {
    return plan_auto_mounts(args, h).mounts;
}

namespace {

// What to bind so that the host file `file` (absolute, as named) runs inside: see
// CommandResolution::bind. "" when nothing may be bound.
std::string command_bind(const std::string& file, bool named_with_slash, const HostView& h) {
    const std::string home = h.home.empty() ? "" : h.resolve(h.home);
    auto too_wide = [&](const std::string& d) {
        const std::string r = h.resolve(d);
        return r == "/" || (!home.empty() && r == home);
    };
    // A shared fresh directory (/tmp) goes in only as far as the command names it: the file.
    auto in_fresh = [&](const std::string& d) {
        const std::string r = h.resolve(d);
        for (const auto& f : h.fresh)
            if (path_within(r, f) && !(!home.empty() && path_within(r, home))) return true;
        return false;
    };
    if (!h.refused(h.resolve(file)).empty()) return "";
    const std::string bin = parent_path(file);
    const std::string venv = parent_path(bin);
    if (base_name(bin) == "bin" && h.kind(venv + "/pyvenv.cfg") == PathKind::File &&
        !too_wide(venv) && !in_fresh(venv) && h.refused(h.resolve(venv)).empty())
        return venv;
    if (named_with_slash && !too_wide(bin) && !in_fresh(bin) && h.refused(h.resolve(bin)).empty())
        return bin;
    return file;
}

// The first absolute entry of `path` holding an executable `name` that `usable` accepts.
std::string first_on_path(const std::string& name, const std::string& path,
                          const std::function<bool(const std::string&)>& usable) {
    // Empty and relative PATH entries mean "relative to the cwd". On the caller's side that would
    // let a binary lying in whatever directory kakuri is started from be bound in and run (the
    // classic "." in PATH trap), so they are skipped; on the container's side execvp still
    // honours them, kakuri just does not claim to know what they hold.
    for (const auto& dir : split(path)) {
        if (dir.empty() || dir[0] != '/') continue;
        std::string file = normalize_path(dir + "/" + name);
        if (usable(file)) return file;
    }
    return "";
}

}  // namespace

CommandResolution resolve_command(const std::string& name, const std::string& container_path,
                                  const std::string& caller_path, const HostView& h,
                                  const std::function<bool(const std::string&)>& executable) {
    // The same file is often on both PATHs: asked about once.
    std::map<std::string, bool> asked;
    auto executable_once = [&](const std::string& f) {
        auto it = asked.find(f);
        if (it == asked.end()) it = asked.emplace(f, executable(f)).first;
        return it->second;
    };
    CommandResolution r;
    if (name.find('/') != std::string::npos) {
        // Like execvp: a name with a slash is a path and is never searched for.
        r.kind = CommandResolution::Inside;
        r.path = name;
        const std::string file = normalize_path(name[0] == '/' ? name : h.cwd + "/" + name);
        if (h.visible(file) || !executable(file)) return r;
        const std::string bind = command_bind(file, true, h);
        if (!bind.empty()) r = {CommandResolution::FromHost, file, bind};
        return r;
    }
    if (name.empty() || name == "." || name == "..") return r;
    // The file, not its directory, is asked about, so a file bound alone counts too.
    auto inside = [&](const std::string& f) { return h.visible(f) && executable_once(f); };
    const std::string in_container = first_on_path(name, container_path, inside);
    // The caller's shell would run this one (an activated virtual environment's python,
    // ~/.cargo/bin/rg before /usr/bin/rg): so does the container.
    const std::string file = first_on_path(name, caller_path, executable_once);
    const std::string bind =
        file.empty() || file == in_container || h.visible(file) ? "" : command_bind(file, false, h);
    if (!bind.empty()) return {CommandResolution::FromHost, file, bind};
    // Visible but found first only on the caller's PATH (e.g. /usr/games): it runs as it is.
    if (!file.empty() && file != in_container && h.visible(file))
        return {CommandResolution::Inside, file, ""};
    if (!in_container.empty()) return {CommandResolution::Inside, name, ""};
    return r;
}

}  // namespace kakuri
