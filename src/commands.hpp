// commands: the persistent-container subcommands (create, start, exec, shell,
// stop, list, inspect, logs, remove): argv in, exit status out; errors thrown as Error.
#pragma once

#include <string>

namespace kakuri {

bool is_container_subcommand(const std::string& word);
// argv[0] is the subcommand word; config: the file --config named before it, or "".
int run_container_subcommand(int argc, char* argv[], const std::string& config);
std::string container_help(const std::string& sub);

}  // namespace kakuri
