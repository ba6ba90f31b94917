// cli: getopt_long over one option table; --help is printed from the same table.
#include "cli.hpp"

#include <getopt.h>

#include <sstream>

#include "limits.hpp"
#include "sys.hpp"

#ifndef KAKURI_VERSION
#define KAKURI_VERSION "0.0.0"
#endif

namespace kakuri {

namespace {

enum OptId {
    kOptAllowNetwork = 1000,
    kOptNetwork,
    kOptDns,
    kOptBind,
    kOptRoBind,
    kOptOverlay,
    kOptUser,
    kOptHostname,
    kOptUnsetenv,
    kOptClearenv,
    kOptDryRun,
    kOptVersion,
    kOptSeccomp,
    kOptCapAdd,
    kOptCapDrop,
    kOptConfig,
    kOptBindProfile,
    kOptAutoMount,
    kOptRootfs,
    kOptImage,
    kOptUserns,
    kOptSubids,
    kOptTmpfsSize,
    kOptMemory,
    kOptPidsLimit,
    kOptCpus,
};

struct TableEntry {
    OptionInfo info;
    int id;
};

// One row per run option (data, not logic: as long as there are options).
const std::vector<TableEntry>& table() {
    static const std::vector<TableEntry> t = {
        {{"allow-network", 0, ArgKind::None, nullptr, nullptr,
          "share the host's network (same as --network=host)"},
         kOptAllowNetwork},
        {{"network", 0, ArgKind::Required, "MODE", "none|host|private|private,host-loopback",
          "none (default): only lo; host: the host's, its loopback services and abstract "
          "sockets too; private: its own, outside reached through pasta (host-loopback: the "
          "host's 127.0.0.1 at the gateway's address)"},
         kOptNetwork},
        {{"publish", 'p', ArgKind::Required, "[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]", nullptr,
          "forward HOSTPORT (default on 127.0.0.1) to PORT inside; ranges FIRST-LAST; implies "
          "--network=private (repeatable)"},
         'p'},
        {{"dns", 0, ArgKind::Required, "ADDR", nullptr,
          "--network=private: the DNS server queries go to (default: the host's first)"},
         kOptDns},
        {{"bind", 0, ArgKind::Required, "SRC[:DST][:ro]", nullptr,
          "bind-mount SRC at DST (default: the same path); ~ expands"},
         kOptBind},
        {{"ro-bind", 0, ArgKind::Required, "SRC[:DST]", nullptr, "bind-mount SRC read-only"},
         kOptRoBind},
        {{"overlay", 0, ArgKind::Required, "SRC[:DST]", nullptr,
          "show SRC at DST copy-on-write: writes are kept as a change set, never reach SRC "
          "(kakuri changes, apply, discard; repeatable)"},
         kOptOverlay},
        {{"bind-profile", 0, ArgKind::Required, "NAME", nullptr,
          "add the binds of a profile from the config (repeatable)"},
         kOptBindProfile},
        {{"auto-mount", 0, ArgKind::Required, "MODE", "rw|ro|off",
          "mount path arguments at the same path: rw (default), ro, or off"},
         kOptAutoMount},
        {{"user", 0, ArgKind::None, nullptr, nullptr,
          "run as your own uid/gid inside instead of root, without capabilities (under sudo "
          "that is uid 0, which still owns root's files: use --userns)"},
         kOptUser},
        {{"hostname", 0, ArgKind::Required, "NAME", nullptr,
          "the container's hostname (default: kakuri)"},
         kOptHostname},
        {{"rootfs", 0, ArgKind::Required, "DIR", nullptr,
          "use DIR as the root filesystem, under an overlay (DIR is never written)"},
         kOptRootfs},
        {{"image", 0, ArgKind::Required, "NAME", nullptr,
          "use the image NAME (kakuri image import) as the root filesystem, under an overlay; "
          "without a command its own command runs"},
         kOptImage},
        {{"userns", 0, ArgKind::None, nullptr, nullptr,
          "as real root: a user namespace whose root is not host root"},
         kOptUserns},
        {{"subids", 0, ArgKind::None, nullptr, nullptr,
          "also map ids 1..65536 inside to your range in /etc/subuid and /etc/subgid"},
         kOptSubids},
        {{"env", 'e', ArgKind::Required, "K=V", nullptr,
          "set K to V inside (K alone: copy the caller's value)"},
         'e'},
        {{"unsetenv", 0, ArgKind::Required, "K", nullptr, "remove K from the environment"},
         kOptUnsetenv},
        {{"clearenv", 0, ArgKind::None, nullptr, nullptr,
          "start from an empty environment (HOME and PATH are set)"},
         kOptClearenv},
        {{"workdir", 'w', ArgKind::Required, "DIR", nullptr, "working directory inside"}, 'w'},
        {{"seccomp", 0, ArgKind::Required, "MODE", "default|off",
          "default: the syscall filter (see SECURITY.md); off: none"},
         kOptSeccomp},
        {{"cap-add", 0, ArgKind::Required, "CAP", nullptr,
          "give root inside this capability too (repeatable; ALL for every one)"},
         kOptCapAdd},
        {{"cap-drop", 0, ArgKind::Required, "CAP", nullptr,
          "take this capability from root inside (repeatable; ALL for every one)"},
         kOptCapDrop},
        {{"memory", 0, ArgKind::Required, "SIZE", nullptr,
          "the memory the container may use, then it is killed (512M, 1.5G; a cgroup)"},
         kOptMemory},
        {{"pids-limit", 0, ArgKind::Required, "N", nullptr,
          "at most N processes and threads inside (a cgroup)"},
         kOptPidsLimit},
        {{"cpus", 0, ArgKind::Required, "CPUS", nullptr,
          "at most this many CPUs' time (0.5, 2; a cgroup)"},
         kOptCpus},
        {{"tmpfs-size", 0, ArgKind::Required, "SIZE", nullptr,
          "what the in-memory writable layers (/, /tmp, /run, /dev/shm, home, overlays) may "
          "hold together (default: --memory, else half of RAM)"},
         kOptTmpfsSize},
        {{"config", 0, ArgKind::Required, "FILE", nullptr,
          "read this config file instead of the default one (also before a subcommand)"},
         kOptConfig},
        {{"dry-run", 0, ArgKind::None, nullptr, nullptr, "print the container plan and exit"},
         kOptDryRun},
        {{"verbose", 'v', ArgKind::None, nullptr, nullptr, "say what is set up"}, 'v'},
        {{"quiet", 'q', ArgKind::None, nullptr, nullptr, "say nothing but errors"}, 'q'},
        {{"help", 'h', ArgKind::None, nullptr, nullptr, "show this help"}, 'h'},
        {{"version", 0, ArgKind::None, nullptr, nullptr, "show the version"}, kOptVersion},
    };
    return t;
}

[[noreturn]] void bad_usage(const std::string& what) {
    throw Error(what + " (see 'kakuri --help')");
}

// A path with a newline in it is a mistake or a way to forge lines in what kakuri prints.
const std::string& path_arg(const char* option, const std::string& value) {
    if (has_control(value))
        bad_usage(std::string(option) + " " + shown(value) +
                  ": control characters are not allowed in paths");
    return value;
}

const std::string& size_arg(const char* option, const std::string& value) {
    uint64_t n = 0;
    if (!parse_limit_size(value, n))
        bad_usage(std::string(option) + " takes " + kSizeForm + ", not " + shown(value));
    return value;
}

}  // namespace

const std::vector<OptionInfo>& run_option_table() {
    static const std::vector<OptionInfo> infos = [] {
        std::vector<OptionInfo> v;
        for (const auto& e : table()) v.push_back(e.info);
        return v;
    }();
    return infos;
}

// One case per option of the table above, in one switch: longer than most functions, but each
// case is a line or two and reads against its row.
Options parse_run_options(int argc, char* const argv[]) {
    std::vector<struct option> longopts;
    std::string shortopts = "+:";  // stop at the command; report missing arguments as ':'
    for (const auto& e : table()) {
        int has_arg = e.info.arg == ArgKind::Required ? required_argument : no_argument;
        longopts.push_back({e.info.long_name, has_arg, nullptr, e.id});
        if (e.info.short_name) {
            shortopts += e.info.short_name;
            if (has_arg == required_argument) shortopts += ':';
        }
    }
    longopts.push_back({nullptr, 0, nullptr, 0});

    Options o;
    optind = 0;  // full reset of getopt's state: parse may run more than once per process
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shortopts.c_str(), longopts.data(), nullptr);
        if (c == -1) break;
        std::string arg = optarg ? optarg : "";
        switch (c) {
        case kOptAllowNetwork:
            o.network = NetworkMode::Host;
            o.network_set = true;
            break;
        case kOptNetwork:
            o.network_set = true;
            if (arg == "none")
                o.network = NetworkMode::None;
            else if (arg == "host")
                o.network = NetworkMode::Host;
            else if (arg == "private" || arg == "private,host-loopback") {
                o.network = NetworkMode::Private;
                o.host_loopback = arg != "private";
            } else
                bad_usage("--network takes none, host, private or private,host-loopback, not " +
                          shown(arg));
            break;
        case 'p':
            parse_publish(arg);  // a bad one is told here, before anything else
            o.publish.push_back(arg);
            break;
        case kOptDns:
            if (!valid_ip(arg)) bad_usage("--dns takes an IPv4 or IPv6 address, not " + shown(arg));
            o.dns = arg;
            break;
        case kOptBind:
            o.binds.push_back(path_arg("--bind", arg));
            o.binds_ro_forced.push_back(false);
            break;
        case kOptRoBind:
            o.binds.push_back(path_arg("--ro-bind", arg));
            o.binds_ro_forced.push_back(true);
            break;
        case kOptOverlay: o.overlays.push_back(path_arg("--overlay", arg)); break;
        case kOptUser: o.user = true; break;
        case kOptHostname: o.hostname = arg; break;
        case kOptRootfs:
            if (arg.empty()) bad_usage("--rootfs needs a directory");
            o.rootfs = path_arg("--rootfs", arg);
            break;
        case kOptImage:
            if (arg.empty()) bad_usage("--image needs an image name");
            o.image = arg;
            break;
        case kOptUserns: o.userns = true; break;
        case kOptSubids: o.subids = true; break;
        case 'e': o.env_set.push_back(arg); break;
        case kOptUnsetenv: o.env_unset.push_back(arg); break;
        case kOptClearenv: o.clearenv = true; break;
        case 'w': o.workdir = path_arg("--workdir", arg); break;
        case kOptDryRun: o.dry_run = true; break;
        case kOptSeccomp:
            o.seccomp_set = true;
            if (arg == "default")
                o.seccomp = true;
            else if (arg == "off")
                o.seccomp = false;
            else
                bad_usage("--seccomp takes default or off, not " + shown(arg));
            break;
        case kOptCapAdd: o.cap_add.push_back(arg); break;
        case kOptConfig: o.config = path_arg("--config", arg); break;
        case kOptBindProfile: o.bind_profiles.push_back(arg); break;
        case kOptAutoMount:
            if (arg != "rw" && arg != "ro" && arg != "off")
                bad_usage("--auto-mount takes rw, ro or off, not " + shown(arg));
            o.auto_mount = arg;
            break;
        case kOptCapDrop: o.cap_drop.push_back(arg); break;
        case kOptTmpfsSize: o.tmpfs_size = size_arg("--tmpfs-size", arg); break;
        case kOptMemory: o.memory = size_arg("--memory", arg); break;
        case kOptPidsLimit: {
            uint64_t n = 0;
            if (!parse_pids(arg, n))
                bad_usage("--pids-limit takes " + std::string(kPidsForm) + ", not " + shown(arg));
            o.pids_limit = arg;
            break;
        }
        case kOptCpus: {
            uint64_t n = 0;
            if (!parse_cpus(arg, n))
                bad_usage("--cpus takes " + std::string(kCpusForm) + ", not " + shown(arg));
            o.cpus = arg;
            break;
        }
        case 'v': o.verbosity = o.verbosity < 0 ? 1 : o.verbosity + 1; break;
        case 'q': o.verbosity = -1; break;
        case 'h': o.help = true; break;
        case kOptVersion: o.version = true; break;
        case ':': {
            std::string word = argv[optind - 1];
            bad_usage("option '" + word + "' needs a value");
        }
        default: {
            std::string word = optopt && optopt < 256 ? std::string("-") + char(optopt)
                                                      : std::string(argv[optind - 1]);
            bad_usage("unknown option '" + word + "'");
        }
        }
    }
    for (int i = optind; i < argc; ++i) o.command.emplace_back(argv[i]);
    return o;
}

int parse_global_options(int argc, char* const argv[], std::string& config) {
    int i = 1;
    while (i < argc) {
        std::string w = argv[i];
        if (w == "--config" && i + 1 < argc) {
            config = path_arg("--config", argv[i + 1]);
            i += 2;
        } else if (w.rfind("--config=", 0) == 0) {
            config = path_arg("--config", w.substr(9));
            i += 1;
        } else {
            break;
        }
    }
    return i;
}

std::string run_help_text() {
    std::ostringstream s;
    s << "Usage: kakuri [RUN-OPTIONS] [--] [COMMAND [ARG...]]\n"
         "       kakuri [--config FILE] SUBCOMMAND ...\n"
         "Run COMMAND (default: your shell) in a temporary container: its own user, mount,\n"
         "PID, network, UTS and IPC namespaces, the host's system directories under a\n"
         "throw-away overlay, an empty home, fresh /tmp. Nothing it writes reaches the host\n"
         "except through binds. With --rootfs DIR, DIR is the root instead, under the same\n"
         "kind of overlay (--image NAME: an imported image's tree); as real root there is no\n"
         "user namespace unless --userns.\n"
         "\nRun options:\n";
    for (const auto& o : run_option_table()) {
        std::string left = "  ";
        left += o.short_name ? std::string("-") + o.short_name + ", " : "    ";
        left += std::string("--") + o.long_name;
        if (o.arg == ArgKind::Required) left += std::string(o.values ? "=" : " ") + o.metavar;
        if (left.size() < 30)
            left.resize(30, ' ');
        else
            left += "\n" + std::string(30, ' ');
        s << left << o.help << "\n";
    }
    s << "\nSubcommands (kakuri help SUBCOMMAND for each); --config FILE before one names the\n"
         "config file for it, where its containers_dir is (as $KAKURI_CONFIG does):\n"
         "  kakuri create [RUN-OPTIONS] NAME                  a persistent container\n"
         "  kakuri start [-d|--detach] NAME [COMMAND [ARG...]]\n"
         "  kakuri exec [-u|--user] [-w DIR] [-e K[=V]]... NAME COMMAND [ARG...]\n"
         "  kakuri shell NAME                                 a login shell, starting NAME if "
         "needed\n"
         "  kakuri stop [-t SECONDS] NAME...\n"
         "  kakuri list [--json | -q|--quiet]                 how each ended: exited (N) ... ago\n"
         "  kakuri inspect [--json] NAME                      its record and state\n"
         "  kakuri logs [-f|--follow] NAME                    what its detached runs wrote\n"
         "  kakuri remove [-f|--force] NAME...\n"
         "  kakuri commit [-q|--quiet] NAME IMAGE             a stopped container's root as an "
         "image\n"
         "  kakuri export --bundle NAME DIR [COMMAND...]      a stopped container as an OCI "
         "runtime bundle\n"
         "  kakuri changes [--json | -q | --diff] [ID]        --overlay's change sets, or one's "
         "changes\n"
         "  kakuri apply [-f|--force] ID [PATH...]            write changes to the host, "
         "atomically\n"
         "  kakuri discard ID...                              drop change sets\n"
         "  kakuri image import [--subids] SOURCE [NAME]      a root filesystem or an OCI or "
         "docker image\n"
         "  kakuri image list|inspect|remove ...              kakuri help image\n"
         "  kakuri config [RUN-OPTIONS]   the effective configuration and where each value came "
         "from\n"
         "  kakuri help [SUBCOMMAND]\n"
         "\nAutomatic path mounting: arguments that look like paths (absolute, ~/..., ./...,\n"
         "../..., existing names, names with a file extension, --opt=PATH values; never URLs)\n"
         "are mounted at the same path: a directory itself, a file's parent directory, a\n"
         "path not made yet its existing parent, all decided on what the path resolves to.\n"
         "Under /tmp, /var/tmp and /run only an existing file or directory named directly.\n"
         "Never /, $HOME itself (a file directly in it is mounted alone), what the container\n"
         "already sees, /proc, /sys or /dev.\n"
         "A command only on your PATH in a hidden directory (~/.local/bin) is bound and run.\n"
         "\nEnvironment: yours, without the variables that carry credentials (AWS_ACCESS_KEY_ID,\n"
         "GITHUB_TOKEN, SSH_AUTH_SOCK, *_TOKEN, *_SECRET, *_PASSWORD, *_API_KEY, ...; kakuri\n"
         "config lists them all). -e NAME passes one on purpose; [defaults] env_keep and\n"
         "env_drop change the rule; -v names what stayed outside, never a value.\n"
         "\nConfiguration: /etc/kakuri/config.toml, then ${XDG_CONFIG_HOME:-~/.config}/container/\n"
         "config.toml (or --config FILE, or $KAKURI_CONFIG); options override it. Example:\n"
         "  [storage]\n"
         "  containers_dir = \"~/.local/kakuri/containers\"\n"
         "  [defaults]\n"
         "  allow_network = false\n"
         "  [bind_profiles]\n"
         "  dev = [\n"
         "      \"~/.config\",\n"
         "      \"~/.local\",\n"
         "      \"~/.cache\",\n"
         "      \"~/.ssh\"\n"
         "  ]\n"
         "  minimal = [\"~/.cache\"]\n"
         "See kakuri.conf(5) for every key.\n"
         "\nExit status: the command's; 128+N if it died of signal N; 125 kakuri failed;\n"
         "126 the command cannot be executed; 127 the command was not found.\n";
    return s.str();
}

std::string version_text() {
    return std::string("kakuri ") + KAKURI_VERSION + "\n";
}

}  // namespace kakuri
