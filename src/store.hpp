// store: persistent containers on disk under containers_dir — layout, the
// recorded options, run state, locks, liveness, removal. Nothing here trusts a
// file a container can write: the store is never visible inside a container.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "logfile.hpp"
#include "sys.hpp"

namespace kakuri {

// [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
bool valid_container_name(const std::string& name);
void check_container_name(const std::string& name);  // throws Error (125)

// What `create` recorded: the run options as given, re-parsed by every start
// and exec, so a container always runs with what it was created with.
// What `create` decided: the container's resolved spec (version 2: `spec`, the fields of
// durable.hpp), never re-derived from a config or argv again. Version 1 (kakuri 0.1) kept
// the run options as typed (`args`) instead; such a record is converted on first use.
struct Record {
    int version = 2;
    std::string name;
    int64_t created = 0;            // seconds since the epoch
    std::vector<std::string> args;  // version 1 only: run options, as on the command line
    std::string network = "none";   // for list: "none" or "host"
    std::string root = "host";      // for list: "host" or the rootfs path
    std::string cwd;                // where create ran
    std::vector<std::pair<std::string, std::string>> spec;  // version 2: durable.hpp's fields
};
std::string format_record(const Record& r);

// What `inspect` shows of a record, in order: (key, value), a key ending in "[]" once per item
// of a list (the JSON form makes it an array): what create decided (durable.hpp's fields,
// decoded; a version 1 record: its option words). Never an environment variable's value: a
// recorded -e K=V or a config's env K=V shows as K=... .
using Fields = std::vector<std::pair<std::string, std::string>>;
Fields record_fields(const Record& r);
// "key: value" lines (a list: a line per item); one JSON object ("[]" keys as arrays without
// the "[]", pid and exit_status as numbers, every other value a string).
std::string format_fields_text(const Fields& f);
std::string format_fields_json(const Fields& f);
Record parse_record(const std::string& text);  // throws Error on a bad or newer file

// Who runs a container now: init's host pid and its start time (to tell it from
// a later process with the same pid), and its namespaces' identities.
struct State {
    int version = 1;
    pid_t pid = 0;
    uint64_t start_time = 0;  // /proc/PID/stat field 22
    uint64_t pidns = 0;       // inode of /proc/PID/ns/pid (every state has it)
    Namespaces ns;            // all seven (states written since 0.2; zeros before)
    bool userns = false;      // joined first when set
    bool started = false;     // has run at least once (stopped, not created)
    int64_t started_at = 0;   // when it last started, seconds since the epoch (0: unknown)
    bool detached = false;    // started with -d: its output goes to the log
};
std::string format_state(const State& s);
State parse_state(const std::string& text);

enum class Status { Created, Running, Stopped };
const char* status_name(Status s);

struct ListEntry {
    std::string name;
    Status status = Status::Created;
    std::string network;
    std::string root;
    int64_t created = 0;
    int64_t started = 0;  // 0: never, or unknown
    ExitRecord exit;      // stopped: how, when known (status -1: not known)
};
// STATUS is "created", "running", "exited (N) 3 minutes ago" (as of now), or "stopped" when
// how it ended is not known.
std::string format_list_table(const std::vector<ListEntry>& entries, int64_t now);
std::string format_list_json(const std::vector<ListEntry>& entries);
// "3 minutes ago": the largest whole unit (seconds to years) between then and now.
std::string time_ago(int64_t then, int64_t now);

// The store itself: containers_dir, opened once and trusted (see trust.hpp); everything in it
// is reached from that fd, and a container's directory and files are checked as opened.
class Store {
public:
    // containers_dir, ~ already expanded; opened when it exists. Throws "refusing ..." when
    // it or a directory above it may not be trusted.
    explicit Store(std::string dir);
    const std::string& dir() const { return dir_; }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    int fd() const;  // -1 while containers_dir does not exist

    // Atomic: built under a temporary name, then renamed into place; throws
    // "container 'NAME' already exists" when another create won. Makes containers_dir.
    void create(const Record& r, const std::vector<std::string>& subdirs);
    bool exists(const std::string& name) const;
    Record record(const std::string& name) const;
    // Replaces the record, atomically (a version 1 record converted on first use).
    void write_record(const std::string& name, const Record& r) const;
    // Every container, each checked like record(): an untrusted one is refused.
    std::vector<std::string> names() const;

    // Exclusive lock on one container (flock), held while the fd lives.
    UniqueFd lock(const std::string& name) const;

    // A run's files in the container's directory, each made (mode 0600) when missing and
    // checked like the record: the log (append), log.1 (see logfile.hpp) and the exit record
    // (read-write, as it is: emptied once the run is under way). Without with_log only the
    // exit record.
    struct RunFiles {
        UniqueFd log, prev, exit;
    };
    RunFiles open_run_files(const std::string& name, bool with_log) const;
    // The lock of a container's private network (the file "net", made when missing): the
    // keeper of its pasta holds it shared while pasta lives; start takes it first, stop and
    // remove once init is gone (wait_net), so that none returns while the last run's pasta
    // still holds its ports.
    UniqueFd net_lock(const std::string& name) const;
    // Waits until no keeper holds the container's network lock (none made: nothing to wait for).
    void wait_net(const std::string& name) const;
    // For reading: the log and log.1, each invalid when there is none.
    struct LogFiles {
        UniqueFd log, prev;
    };
    LogFiles open_log(const std::string& name) const;
    // The last run's exit record; false when there is no whole one (running, killed, never
    // started).
    bool exit_record(const std::string& name, ExitRecord& out) const;
    void write_exit(const std::string& name, const ExitRecord& e) const;

    // State: written atomically; a missing file is a never-started container.
    State state(const std::string& name) const;
    void write_state(const std::string& name, const State& s) const;
    Status status(const std::string& name, State* live = nullptr) const;

    // Renames the container away to a hidden name of this process (atomic: no command sees
    // it from then on), locked by the returned fd; remove_tree_at(fd(), name) deletes it.
    struct Taken {
        std::string name;
        UniqueFd lock;
        bool has_record = false;  // leftovers(): the record inside, when it has a readable one
        Record record;
    };
    Taken take(const std::string& name) const;
    // take(), then delete it without following any link its programs left, making
    // unreadable directories readable first.
    void remove(const std::string& name) const;

    // What an interrupted create or remove left (.new-*, .trash-*) whose process is gone,
    // each locked by its fd for the caller to delete with remove_tree_at(fd(), name).
    std::vector<Taken> leftovers() const;

private:
    UniqueFd open_container(const std::string& name) const;  // O_RDONLY | O_DIRECTORY, checked
    void open_dir() const;  // opens containers_dir when it exists (made by another process)
    std::string given_;     // as configured, for messages
    uid_t caller_;
    mutable std::string dir_;  // as walked, symlinks resolved
    mutable UniqueFd fd_;
};

// Is the process the state names still that container's init?
bool state_is_live(const State& s);

// rm -rf below an open directory, never following links, never crossing into another mount,
// with a bounded number of fds whatever the depth (a container can make any tree).
void remove_tree_at(int dirfd, const std::string& name);

}  // namespace kakuri
