// commands: the persistent-container subcommands (create, start, exec, shell,
// stop, list, inspect, logs, remove): argv in, exit status out; errors thrown as Error.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "changes.hpp"
#include "config.hpp"
#include "container.hpp"
#include "spec.hpp"

namespace kakuri {

// Told what a subcommand met without stopping (a container that did not stop, a leftover it
// could not delete, a note); main prints each as one line.
using Report = std::function<void(const std::string&)>;

// What main gives a subcommand besides its words.
struct Caller {
    std::string config;  // the file --config named before the subcommand, or ""
    Report report;
};

// A temporary run's change sets (README, "Copy-on-write views"): one made for each --overlay
// before the plan (none for --dry-run) and locked while the run lasts; at the end each with
// changes is said in one note, each without is deleted.
class RunChangeSets {
public:
    // config: the file --config named, for the note's commands ("": $KAKURI_CONFIG or none).
    RunChangeSets(ContainerSpec& spec, const Config& cfg, const HostInfo& host,
                  const std::string& config, bool dry_run);
    ~RunChangeSets();  // deletes what finish() did not see (an error before the run)
    void finish(const Report& report, bool quiet);

private:
    const Config& cfg_;
    const HostInfo& host_;
    std::string config_;
    std::unique_ptr<ChangeStore> store_;
    std::vector<ChangeMeta> made_;
    std::vector<UniqueFd> locks_;
};

bool is_container_subcommand(const std::string& word);
// argv[0] is the subcommand word.
int run_container_subcommand(int argc, char* argv[], const Caller& caller);
std::string container_help(const std::string& sub);

}  // namespace kakuri
