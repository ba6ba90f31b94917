// store: persistent containers on disk under containers_dir — layout, the
// recorded options, run state, locks, liveness, removal. Nothing here trusts a
// file a container can write: the store is never visible inside a container.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sys.hpp"

namespace kakuri {

// [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
bool valid_container_name(const std::string& name);
void check_container_name(const std::string& name);  // throws Error (125)

// What `create` recorded: the run options as given, re-parsed by every start
// and exec, so a container always runs with what it was created with.
struct Record {
    int version = 1;
    std::string name;
    int64_t created = 0;            // seconds since the epoch
    std::vector<std::string> args;  // run options, as on the command line
    std::string network = "none";   // for list: "none" or "host"
    std::string root = "host";      // for list: "host" or the rootfs path
    std::string cwd;                // where create ran: relative binds are from there
};
std::string format_record(const Record& r);
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
};
std::string format_list_table(const std::vector<ListEntry>& entries);
std::string format_list_json(const std::vector<ListEntry>& entries);

// The store itself.
class Store {
public:
    explicit Store(std::string dir);  // containers_dir, ~ already expanded
    const std::string& dir() const { return dir_; }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    // Atomic: built under a temporary name, then renamed into place; throws
    // "container 'NAME' already exists" when another create won.
    void create(const Record& r, const std::vector<std::string>& subdirs);
    bool exists(const std::string& name) const;
    Record record(const std::string& name) const;
    std::vector<std::string> names() const;

    // Exclusive lock on one container (flock), held while the fd lives.
    UniqueFd lock(const std::string& name) const;

    // State: written atomically; a missing file is a never-started container.
    State state(const std::string& name) const;
    void write_state(const std::string& name, const State& s) const;
    Status status(const std::string& name, State* live = nullptr) const;

    // Renames the container away (atomic), then deletes it without following
    // any link its programs left, making unreadable directories readable first.
    void remove(const std::string& name) const;

private:
    std::string dir_;
};

// Is the process the state names still that container's init?
bool state_is_live(const State& s);
uint64_t process_start_time(pid_t pid);  // 0 when gone (or a zombie)

// rm -rf below an open directory, never following links.
void remove_tree_at(int dirfd, const std::string& name);

}  // namespace kakuri
