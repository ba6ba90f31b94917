// cli: the option table (one source for getopt, --help and completions) and argv -> Options.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace kakuri {

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
