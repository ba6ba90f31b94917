// changes: change sets (README, "Copy-on-write views"): each --overlay's upper layer, kept under
// changes_dir with what it belongs to; what it changed, read from the upper layer against SRC
// as it is now; applying chosen changes to SRC without following any link; discarding it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "sys.hpp"

namespace kakuri {

// changes_dir/ID/meta: what a change set belongs to.
struct ChangeMeta {
    unsigned id = 0;
    std::string src;         // the host directory (resolved) the changes are for
    std::string dst;         // where the container showed it
    int64_t created_ns = 0;  // when it was made, before its container started (ns since epoch)
    std::string container;   // a persistent container's name; "" for a temporary container's
    // The namespace of the overlay's own xattrs (opaque directories) in its upper layer:
    // "user" (userxattr, in a user namespace) or "trusted" (real root's); "" in a meta of
    // before it was recorded: either. Only that one is read: an xattr of the other namespace is
    // one a program set on its own file, which overlayfs never acted on.
    std::string xattrs;
    // Its container maps the caller's subordinate ids: files in the upper layer may be theirs.
    bool subids = false;
};
std::string format_change_meta(const ChangeMeta& m);
ChangeMeta parse_change_meta(const std::string& text);  // throws Error on a bad file
// A change set's id as the user writes it: 1 to 999999999, digits only.
bool parse_change_id(const std::string& text, unsigned& id);

// One entry of an upper layer, or of SRC, as the classification sees it (pure input).
enum class EntryType { Missing, File, Dir, Symlink, Whiteout, Other };
struct EntryFacts {
    EntryType type = EntryType::Missing;
    mode_t mode = 0;         // permission bits and setuid/setgid/sticky (07777)
    bool opaque = false;     // Dir in an upper layer: what SRC holds below is hidden
    std::string link;        // Symlink: its target
    std::string other;       // Other: what it is ("a fifo", "a device node", "a socket")
    bool same_data = false;  // File over File: the same bytes
};

enum class ChangeKind { None, Added, Modified, Deleted, Renamed, Mode, Refused };
const char* change_kind_name(ChangeKind k);

// What an upper-layer entry at path means against SRC's entry there (pure). Refused: why in
// `why` (a device node, fifo or socket; a symbolic link leading out of SRC).
ChangeKind classify_entry(const std::string& path, const EntryFacts& upper, const EntryFacts& lower,
                          std::string& why);
// Does a symbolic link at path (relative to SRC) with this target stay inside SRC, read
// lexically? Absolute targets never do: SRC is seen elsewhere inside a container.
bool link_stays_inside(const std::string& path, const std::string& target);
// A change made against the host version of `since_ns` (the upper entry's birth: when the
// container copied the file up, made or deleted it) conflicts with the host's path when that
// was changed at or after then (its ctime; the same coarse clock, so a tie counts).
bool is_conflict(bool host_exists, int64_t host_ctime_ns, int64_t since_ns);

struct Change {
    ChangeKind kind = ChangeKind::None;
    std::string path;  // relative to SRC
    std::string from;  // Renamed: the path it had
    bool dir = false;
    mode_t old_mode = 0, new_mode = 0;  // Mode; Modified: both when known
    std::string why;                    // Refused
    int64_t since_ns = 0;               // see is_conflict
};
// Does PATH (relative to SRC) choose this change: the path itself or a directory above it
// (either end of a rename)?
bool change_chosen(const Change& c, const std::string& path);
// "added     a/b" lines; modes as 0644 -> 0755; directories end in '/'.
std::string format_changes(const std::vector<Change>& changes);
std::string format_changes_json(const std::vector<Change>& changes);

// Changes as lines of words, every field kept: how a child of kakuri's that read an upper layer
// (in a user namespace, see commands) hands them back. parse throws Error on a bad line.
std::string format_change_records(const std::vector<Change>& changes);
std::vector<Change> parse_change_records(const std::string& text);

// How work on an upper layer is run: here, or where its owners' ids are mapped (commands).
using LayerRunner = std::function<void(const std::function<void()>&)>;

// The change sets in changes_dir: opened once and trusted as containers_dir is (trust.hpp).
class ChangeStore {
public:
    explicit ChangeStore(std::string dir);  // ~ expanded; opened when it exists
    const std::string& dir() const { return dir_; }
    std::string path(unsigned id) const { return dir_ + "/" + std::to_string(id); }

    // A new change set for src (resolved; its upper layer gets src's mode, and its owner as
    // real root), made whole under a hidden name and renamed to the next free id. Makes
    // changes_dir.
    // userxattr: the overlay is made in a user namespace (ChangeMeta::xattrs); subids: its
    // container maps subordinate ids.
    ChangeMeta make(const std::string& src, const std::string& dst, const std::string& container,
                    bool userxattr, bool subids);
    // Every whole change set, by id.
    std::vector<ChangeMeta> list() const;
    ChangeMeta meta(unsigned id) const;  // throws "no change set N"
    // Its directory, O_RDONLY | O_DIRECTORY, checked to be the caller's alone.
    UniqueFd open_set(unsigned id) const;
    // Deletes it: renamed away to a hidden name, then removed (by `owner`) without following
    // any link, with a bounded number of fds.
    void remove(unsigned id, const LayerRunner& owner = run_here) const;
    // Empties its upper layer (a persistent container's: it keeps its change set).
    void empty(unsigned id, const LayerRunner& owner = run_here) const;
    static void run_here(const std::function<void()>& fn) { fn(); }
    // What a killed make or remove left (hidden names whose process is gone).
    void clean_leftovers() const;

private:
    void open_dir() const;
    std::string given_;
    uid_t caller_;
    mutable std::string dir_;
    mutable UniqueFd fd_;
};

// The changes in an upper layer (upper_fd) against SRC (src_fd), sorted by path; bounded in
// fds whatever the depth. m: created_ns (since_ns where the file system keeps no birth time)
// and xattrs.
std::vector<Change> scan_changes(int upper_fd, int src_fd, const ChangeMeta& m);

struct ApplyOptions {
    bool force = false;    // overwrite conflicts
    bool as_root = false;  // give each file the upper layer's owner
    // Why kakuri refuses to write this host path (kakuri's own state), or "".
    std::function<std::string(const std::string&)> refuse;
};
struct ApplyResult {
    size_t applied = 0;
    std::vector<Change> conflicts;  // nothing was applied when there are any (without force)
    std::vector<Change> refused;    // never applied, by rule: why in each one's `why`
    std::vector<Change> failed;     // could not be applied: what went wrong in `why`
};
// Writes the chosen changes to SRC (src_fd, a directory opened without following a link) and
// takes each applied one out of the upper layer. Every file replaced atomically (a temporary
// file in its directory, renamed over it); setuid and setgid bits never written; every path
// opened beneath src_fd or upper_fd without following any symbolic link or crossing a mount.
ApplyResult apply_changes(int upper_fd, int src_fd, const std::vector<Change>& chosen,
                          const ApplyOptions& opts);

// A unified diff of one change to out (diff -u for text; one line for binary files or what is
// not a regular file), labelled a/PATH and b/PATH.
// Everything printed is terminal_text (sys.hpp): a file's content never moves the cursor or
// retitles the terminal of whoever reviews it. A file over kDiffMax bytes gets one line too.
const off_t kDiffMax = 16 << 20;
void diff_change(int upper_fd, int src_fd, const Change& c, FILE* out);

}  // namespace kakuri
