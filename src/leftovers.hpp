// leftovers: what a temporary container's program left in places that vanish with it (its
// home, a working directory that was not mounted, a path it was named that was not mounted),
// found by comparing those places with a snapshot taken before the command ran, and the one
// line that tells the user (README, "What is discarded").
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kakuri {

// Bounds on one walk: a program can leave a tree of any size and depth.
struct WalkLimits {
    size_t entries = 20000;  // entries looked at, in all places together
    size_t depth = 32;       // directory levels below a place
};

// What each place held before the command ran: the identities of its entries (on the place's
// own file system: a mount below it is something else's), and for a named path its own stat.
struct Snapshot {
    struct Place {
        std::string path;   // absolute, inside the container
        bool whole = true;  // a directory to walk; false: this one path only
        dev_t dev = 0;      // whole: the directory itself; one put in its place is not walked
        ino_t dir_ino = 0;
        std::set<std::pair<dev_t, ino_t>> known;  // whole: every entry there was
        bool existed = false;                     // !whole: the path existed...
        ino_t ino = 0;                            // ...as this inode
        long long mtime_ns = 0;                   // ...last changed then
    };
    std::vector<Place> places;
};

// Takes the snapshot of these directories (walked) and paths (one each). Never follows a link;
// a place that does not exist is remembered as such.
Snapshot take_snapshot(const std::vector<std::string>& dirs, const std::vector<std::string>& paths,
                       const WalkLimits& limits = {});

struct Leftover {
    std::string place;     // the place it is in (for a named path: the path itself)
    std::string path;      // absolute; a directory ends in '/'
    bool changed = false;  // an entry that was there before, written since (else new)
    bool noise = false;    // a cache or a history (shown with -v only)
};

struct Leftovers {
    std::vector<Leftover> items;  // in the order found: places in order, names sorted
    bool more = false;            // a limit stopped the walk: there may be more
};

// What is new in each place (a new directory counts once, with what it holds) or, for a named
// path, new or changed. A directory that was there is looked into; a mount point is not.
Leftovers find_leftovers(const Snapshot& before, const WalkLimits& limits = {});

// A cache, a history, tools' state: not worth a line unless -v (`.cache/`, `.bash_history`,
// `__pycache__/`, `.config/`, `.local/`).
bool is_noise(const std::string& name);

// The note: "kakuri: note: discarded 2 new files in /home/u: app, .venv/ (use --bind DIR to
// keep them)\n", or "" when there is nothing to say. verbose: noise counts too; at most `shown`
// names are listed, then "and N more".
std::string format_leftovers(const Leftovers& l, bool verbose, size_t shown = 4);

}  // namespace kakuri
