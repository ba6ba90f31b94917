// launch: one clone with every namespace flag, the container's init (PID 1),
// signal forwarding, the command's exec, exit status and the terminal.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "logfile.hpp"
#include "plan.hpp"
#include "sys.hpp"

namespace kakuri {

struct RunResult {
    int code = 0;                // the command's status as a shell reports it (detached: 0)
    std::optional<Error> error;  // what went wrong inside, as the container said it
    // code; or the error, thrown with code as its exit status (its own when code is 0).
    int status_or_throw() const;
};

// What a persistent container's start adds to a run.
struct LaunchHooks {
    bool detach = false;  // return once the container is ready; it outlives kakuri
    LogFds log;           // detach: where the container's stdout and stderr go, and how it ended
    // Called once the container is set up, with init's host pid (write the state).
    std::function<void(pid_t)> on_ready;
    // A private network: a locked file the keeper of its pasta holds while pasta lives (see
    // Store::net_lock), or -1.
    int net_hold = -1;
    // A lock the container holds for its whole life (its image's), or -1. kakuri holds it
    // while it waits for the container; a detached container's is handed to a holder outside
    // it (hold_until_exit). Never an fd of the container's: init closes it first thing.
    int hold = -1;
};

// Runs the plan's container to the end (or, detached, until it is ready) and
// returns the command's status. A plan without argv runs an idle init.
RunResult run_container(const Plan& plan, const LaunchHooks& hooks = {});

// Runs the plan's command inside the running container whose init is pid (checked
// against its start time and the namespaces recorded for it, where known), in exactly
// the namespaces init has: never rebuilt from the plan or a config.
RunResult exec_in_container(const Plan& plan, pid_t pid, uint64_t start_time,
                            const Namespaces& recorded);

}  // namespace kakuri
