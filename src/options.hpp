// options: what the user asked for on the command line, as written: the Options type, which cli
// fills from argv and spec reads, and the shape of a bind as the user writes it (on the command
// line and in a config file). Pure.
#pragma once

#include <string>
#include <vector>

namespace kakuri {

enum class NetworkMode { None, Host };

// What the user asked for on the command line, as written (no host lookups yet).
struct Options {
    std::vector<std::string> command;  // empty: the user's shell
    NetworkMode network = NetworkMode::None;
    bool network_set = false;           // given on the command line (overrides the config)
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
    std::string tmpfs_size;  // --tmpfs-size as written; empty: not given
    bool dry_run = false;
    int verbosity = 0;  // -1 quiet, 0 normal, 1+ verbose
    bool help = false;
    bool version = false;
};

// A bind as written, "SRC[:DST][:ro|:rw]", taken apart: nothing expanded, nothing resolved.
struct BindText {
    std::string src;
    std::string dst;   // empty: not given (the same path as SRC)
    std::string mode;  // "ro", "rw" or empty: not given
    // false: more fields, or an empty SRC or DST (mode is still what the text ends with)
    bool well_formed = false;
};
BindText split_bind(const std::string& text);

}  // namespace kakuri
