// launch: one clone with every namespace flag, the container's init (PID 1),
// signal forwarding, the command's exec, exit status and the terminal.
#pragma once

#include <string>

#include "plan.hpp"

namespace kakuri {

struct RunResult {
    int code = 0;       // kakuri's exit status
    std::string error;  // one line from inside the container, or ""
};

// Runs the plan's container to the end and returns the command's status.
RunResult run_container(const Plan& plan);

}  // namespace kakuri
