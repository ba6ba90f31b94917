// config: the config files (README, "Configuration"; kakuri.conf(5)): where they are, their
// value syntax (strings, bools, lists, multi-line lists) read through inih, and FILE:LINE
// errors. Pure but load_config_file().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kakuri {

// Where a setting came from; file empty means the built-in default.
struct Origin {
    std::string file;
    int line = 0;
};

template <class T>
struct Setting {
    T value{};
    Origin origin;
    bool set = false;  // some file set it (value may still equal the default)
};

// One [bind_profiles] entry: "SRC[:DST][:ro]" strings as written, `~` not expanded.
struct Profile {
    std::vector<std::string> entries;
    Origin origin;
};

// Strings are kept as written: `~` is expanded by the caller, which knows HOME.
struct Config {
    Setting<std::string> containers_dir;  // [storage]; default "~/.local/kakuri/containers"
    Setting<std::string> images_dir;      // [storage]; default "~/.local/kakuri/images"
    Setting<std::string> changes_dir;     // [storage]; default "~/.local/kakuri/changes"
    Setting<uint64_t> log_max_size;       // [storage]; bytes a detached container's log keeps
    Setting<bool> allow_network;          // [defaults] from here on; default false
    Setting<std::string> network;         // "none" (default), "host" or "private"
    Setting<bool> host_loopback;          // private: the host's loopback at the gateway's address
    Setting<std::string> dns;             // private: the DNS upstream; "": the host's
    Setting<bool> user;
    Setting<std::string> hostname;     // "" (default): kakuri's own default hostname
    Setting<std::string> auto_mount;   // "rw" (default), "ro" or "off"
    Setting<bool> auto_mount_workdir;  // default true: the working directory counts as a path
    Setting<bool> note_discarded;      // default true: say what a temporary container discarded
    Setting<std::string> seccomp;      // "default" (default) or "off"
    Setting<bool> subids;
    Setting<std::vector<std::string>> bind;           // "SRC[:DST][:ro]"
    Setting<std::vector<std::string>> bind_profiles;  // profile names, not checked to exist here
    Setting<std::vector<std::string>> env;            // "K=V"
    Setting<std::vector<std::string>> env_drop;       // names and patterns kept outside (envrules)
    Setting<std::vector<std::string>> env_keep;       // names and patterns that cross after all
    Setting<uint64_t> tmpfs_size;  // bytes the in-memory writable layers share; 0: the default
    Setting<uint64_t> memory;      // bytes; 0: no limit
    Setting<uint64_t> pids_limit;  // 0: no limit
    Setting<uint64_t> cpus;        // thousandths of a CPU; 0: no limit
    std::map<std::string, Profile> profiles;  // [bind_profiles]
};

Config default_config();

// A string as the value syntax writes it, which parse_config reads back as it was: in double
// quotes, '"' and '\' escaped (TOML's basic string; kakuri config prints values so).
std::string config_string(const std::string& value);
// [storage] log_max_size: at least this, so that a section line fits.
constexpr uint64_t kMinLogMaxSize = 1024;
// A size as a config writes it: digits, then optionally K, M or G (powers of 1024; k, m, g
// too). False when it is not one.
bool parse_size(const std::string& text, uint64_t& out);
std::string format_size(uint64_t n);  // the shortest exact form: 4194304 -> "4M"

// Parse one file's text into cfg. Later files override earlier ones key by key (a list is
// replaced, not appended to); a profile of the same name is replaced whole. Throws
// Error("FILE:LINE: what is wrong") and then leaves cfg untouched.
void parse_config(const std::string& text, const std::string& filename, Config& cfg);

// Read a file and parse it. Returns false when it does not exist and is not required; a
// required missing file, an unreadable file or a directory is an Error naming the file.
bool load_config_file(const std::string& path, Config& cfg, bool required);

// Every config kakuri reads, in order: the system file, then the user's (or the
// one named by --config / $KAKURI_CONFIG), over the built-in defaults.
Config load_configs(const std::string& explicit_path, const std::string& home);

struct ConfigPaths {
    std::string system;          // always "/etc/kakuri/config.toml"; load it not required
    std::string user;            // empty: there is no user file to look for
    bool user_required = false;  // named by --config or KAKURI_CONFIG
};

// Which files to read, system first. The user file is --config if given, else $KAKURI_CONFIG,
// else ${XDG_CONFIG_HOME:-$HOME/.config}/container/config.toml. Empty or null env values count
// as unset; a relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
ConfigPaths config_paths(const std::string& explicit_path, const char* kakuri_config_env,
                         const char* xdg_config_home, const std::string& home);

}  // namespace kakuri
