// commands: the persistent-container subcommands (create, start, exec, shell,
// stop, list, inspect, logs, remove): argv in, exit status out; errors thrown as Error.
#pragma once

#include <functional>
#include <string>

namespace kakuri {

// Told what a subcommand met without stopping (a container that did not stop, a leftover it
// could not delete, a note); main prints each as one line.
using Report = std::function<void(const std::string&)>;

// What main gives a subcommand besides its words.
struct Caller {
    std::string config;  // the file --config named before the subcommand, or ""
    Report report;
};

bool is_container_subcommand(const std::string& word);
// argv[0] is the subcommand word.
int run_container_subcommand(int argc, char* argv[], const Caller& caller);
std::string container_help(const std::string& sub);

}  // namespace kakuri
