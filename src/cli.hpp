// cli: the option table (one source for getopt, --help and completions) and argv -> Options.
#pragma once

#include <string>
#include <vector>

namespace kakuri {

enum class NetworkMode { None, Host };

// What the user asked for on the command line, as written (no host lookups yet).
struct Options {
    std::vector<std::string> command;  // empty: the user's shell
    NetworkMode network = NetworkMode::None;
    bool network_set = false;  // given on the command line (overrides the config)
    std::vector<std::string> binds;     // "SRC[:DST][:ro]" in order given
    std::vector<bool> binds_ro_forced;  // parallel to binds: came from --ro-bind
    bool user = false;
    std::string hostname;  // empty: the default
    std::string rootfs;    // --rootfs DIR as written; empty: the host's system directories
    bool userns = false;   // --userns: a user namespace even as real root
    bool subids = false;   // --subids: map subordinate ids too
    std::vector<std::string> env_set;    // K=V or K (copy from caller)
    std::vector<std::string> env_unset;  // K
    bool clearenv = false;
    std::string workdir;
    bool seccomp = true;
    bool seccomp_set = false;
    std::string config;                      // --config FILE
    std::vector<std::string> bind_profiles;  // --bind-profile NAME, in order
    std::string auto_mount;                  // "rw", "ro", "off" or "" (not given)
    std::vector<std::string> cap_add, cap_drop;
    bool dry_run = false;
    int verbosity = 0;  // -1 quiet, 0 normal, 1+ verbose
    bool help = false;
    bool version = false;
};

enum class ArgKind { None, Required };

struct OptionInfo {
    const char* long_name;
    char short_name;  // 0: none
    ArgKind arg;
    const char* metavar;  // shown in --help
    const char* values;   // fixed choices "a|b", or nullptr
    const char* help;
};

// Every run option, in the order --help lists them.
const std::vector<OptionInfo>& run_option_table();

// Parse run options (kakuri [RUN-OPTIONS] [--] [COMMAND...]); argv[0] is skipped.
// Throws Error (exit 125) naming the bad word.
Options parse_run_options(int argc, char* const argv[]);

// The options before a subcommand (kakuri [--config FILE] SUBCOMMAND ...): --config FILE or
// --config=FILE, the last one winning. Returns the index of the first other word; argv[0] is
// skipped. Whether that word is a subcommand is the caller's to decide.
int parse_global_options(int argc, char* const argv[], std::string& config);

std::string run_help_text();
std::string version_text();

}  // namespace kakuri
