// commands: persistent containers, from the command line to the store and launch.
#include "commands.hpp"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>

#include "cgroup.hpp"
#include "changes.hpp"
#include "cli.hpp"
#include "config.hpp"
#include "durable.hpp"
#include "envrules.hpp"
#include "features.hpp"
#if KAKURI_HAVE_IMAGES
#include "bundle.hpp"
#include "images.hpp"
#endif
#include "launch.hpp"
#include "logfile.hpp"
#include "paths.hpp"
#include "plan.hpp"
#include "sealed.hpp"
#include "spec.hpp"
#include "store.hpp"
#include "supervise.hpp"
#include "sys.hpp"
#include "trust.hpp"
#include "userns.hpp"

namespace kakuri {

namespace {

// No aliases (ls, rm): the first word of a run may be any program, and `kakuri ls` runs ls.
const char* const kSubcommands[] = {"create",  "start",   "exec",    "shell",  "stop",
                                    "list",    "inspect", "logs",    "remove", "commit",
                                    "changes", "apply",   "discard", "export"};

Store open_store(const Config& cfg, const std::string& home) {
    std::string dir = expand_tilde(cfg.containers_dir.value, home);
    if (dir.empty() || dir[0] != '/') {
        const Origin& o = cfg.containers_dir.origin;  // a config's value is not quoted
        throw Error((o.line ? o.file + ":" + std::to_string(o.line) + ": " : std::string()) +
                    "containers_dir must be an absolute path or start with ~/");
    }
    return Store(normalize_path(dir));
}

ChangeStore open_changes(const Config& cfg, const std::string& home) {
    std::string dir = expand_tilde(cfg.changes_dir.value, home);
    if (dir.empty() || dir[0] != '/') {
        const Origin& o = cfg.changes_dir.origin;  // a config's value is not quoted
        throw Error((o.line ? o.file + ":" + std::to_string(o.line) + ": " : std::string()) +
                    "changes_dir must be an absolute path or start with ~/");
    }
    return ChangeStore(normalize_path(dir));
}

[[noreturn]] void usage(const std::string& sub, const std::string& what) {
    throw Error(what + " (see 'kakuri " + sub + " --help')");
}

// getopt over a small table; returns the index of the first operand, or -1
// after printing --help.
struct SubOpt {
    const char* name;
    char short_name;
    bool arg;
};

int parse_sub(const std::string& sub, int argc, char* argv[], const std::vector<SubOpt>& table,
              const std::function<void(char, const std::string&)>& on) {
    std::vector<struct option> longopts;
    std::string shortopts = "+:h";
    for (const auto& o : table) {
        longopts.push_back(
            {o.name, o.arg ? required_argument : no_argument, nullptr, o.short_name});
        if (o.short_name && o.short_name < 127 &&
            std::isalpha(static_cast<unsigned char>(o.short_name))) {
            shortopts += o.short_name;
            if (o.arg) shortopts += ':';
        }
    }
    longopts.push_back({"help", no_argument, nullptr, 'h'});
    longopts.push_back({nullptr, 0, nullptr, 0});
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shortopts.c_str(), longopts.data(), nullptr);
        if (c == -1) break;
        if (c == 'h') {
            std::fputs(container_help(sub).c_str(), stdout);
            return -1;  // the caller exits 0
        }
        if (c == ':') usage(sub, "option '" + std::string(argv[optind - 1]) + "' needs a value");
        if (c == '?') {
            std::string word = optopt && optopt < 127 ? std::string("-") + char(optopt)
                                                      : std::string(argv[optind - 1]);
            usage(sub, "unknown option '" + word + "'");
        }
        on(static_cast<char>(c), optarg ? optarg : "");
    }
    return optind;
}

// Does a container of this identity map subordinate ids (files inside may be theirs)?
bool subids_mapped(const Identity& id) {
    return id.userns && id.map_writer == MapWriter::Helpers;
}

struct Loaded {
    HostInfo host;
    Config cfg;
    Store store;
    std::string config_path;  // the file --config names (before the subcommand, or create's)
    Report report;
};

void delete_taken(const Loaded& l, const std::string& entry, const Record* rec);

// What a create or remove killed midway left in the store: gone with the next command.
void clean_leftovers(const Loaded& l) {
    for (const auto& t : l.store.leftovers()) {
        try {
            delete_taken(l, t.name, t.has_record ? &t.record : nullptr);
        } catch (const Error& e) {
            l.report("cannot clean up " + l.store.path(t.name) + ": " + e.what());
        }
    }
}

// Every subcommand finds the store the same way: the file --config names (before the
// subcommand, or create's run option), else $KAKURI_CONFIG, else the default files.
Loaded load(const std::string& config_path, const Report& report) {
    HostInfo host = scan_host(kakuri_binary());
    Config cfg = load_configs(config_path, host.home);
    Store store = open_store(cfg, host.home);
    Loaded l{std::move(host), std::move(cfg), std::move(store), config_path, report};
    clean_leftovers(l);
    return l;
}

std::vector<char*> as_argv(std::vector<std::string>& words) {
    std::vector<char*> out;
    for (auto& w : words) out.push_back(w.data());
    out.push_back(nullptr);
    return out;
}

// What create decided, from a record. A record of kakuri 0.1 kept the run options as typed:
// they are read once more, against the config of now.
ContainerSpec recorded_container(const Loaded& l, const Record& rec) {
    if (rec.version != 1) return container_from_fields(rec.spec);
    std::vector<std::string> words = {"kakuri"};
    words.insert(words.end(), rec.args.begin(), rec.args.end());
    std::vector<char*> argv = as_argv(words);
    Options opts = parse_run_options(static_cast<int>(words.size()), argv.data());
    HostInfo host = l.host;
    host.cwd = rec.cwd.empty() ? host.cwd : rec.cwd;
    ContainerSpec spec = make_container(opts, l.cfg, host);
    // The name as it is ('_' included, which a hostname given by the user may not have).
    if (opts.hostname.empty() && !l.cfg.hostname.set) spec.policy.hostname = rec.name;
    return spec;
}

// The container as create recorded it, with the process of this start or exec: its
// command, the caller's environment of now by the recorded rules, exec's -e and -w.
// Nothing here reads the config: a config edited since create changes nothing. A record of
// kakuri 0.1 is converted on this first use (the caller holds the container's lock or
// it is running) and keeps what it resolved to from now on.
ContainerSpec container_spec(const Loaded& l, Record& rec, const ProcessRequest& req, bool idle) {
    ContainerSpec spec = recorded_container(l, rec);
    if (rec.version == 1) {
        rec.version = 2;
        rec.args.clear();
        rec.spec = container_fields(spec);
        l.store.write_record(rec.name, rec);
    }
    // kakuri's own state is hidden where it is now, whatever it was at create.
    spec.layout.hidden = own_state(l.config_path, l.cfg, l.host);
    // Resolved: its layers and home are opened without following any link (mounts.cpp).
    spec.layout.persist_dir = l.host.resolve(l.store.path(rec.name));
    for (auto& b : spec.layout.binds) {
        if (!b.overlay) continue;
        ChangeStore changes = open_changes(l.cfg, l.host.home);
        ChangeMeta m = changes.meta(b.change_set);
        if (m.container != rec.name || m.src != b.src)
            throw Error("change set " + std::to_string(b.change_set) + " of --overlay " + b.src +
                        " belongs to something else now");
        b.layer = changes.path(b.change_set);
    }
    set_process(spec, req, l.host);
    if (idle) spec.process.argv.clear();
    return spec;
}

std::string not_running(const std::string& name) {
    return "container '" + name + "' is not running (start it with: kakuri start -d " + name + ")";
}

int cmd_create(int argc, char* argv[], const Caller& caller) {
    // kakuri create [RUN-OPTIONS] NAME
    std::vector<std::string> words = {"kakuri"};
    for (int i = 1; i < argc; ++i) words.emplace_back(argv[i]);
    std::vector<char*> av = as_argv(words);
    Options opts = parse_run_options(static_cast<int>(words.size()), av.data());
    if (opts.help) {
        std::fputs(container_help("create").c_str(), stdout);
        return 0;
    }
    if (opts.command.size() != 1) usage("create", "create takes one NAME after the run options");
    std::string name = opts.command[0];
    check_container_name(name);
    // create's own --config (a run option) and the one before the subcommand are one setting.
    if (!caller.config.empty() && !opts.config.empty() && opts.config != caller.config)
        usage("create",
              "--config is given twice, as " + shown(caller.config) + " and " + shown(opts.config));
    if (opts.config.empty()) opts.config = caller.config;
    Loaded l = load(opts.config, caller.report);
    // The record is a file on disk: a credential's value never goes into it (-e NAME, which
    // copies the caller's value at each start and exec, does the same without).
    for (const auto& kv : opts.env_set) {
        size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        std::string key = kv.substr(0, eq);
        if (looks_like_credential(key, env_filter(l.cfg)))
            throw Error("create -e " + key + "=...: a credential's value is not recorded; " +
                        "create with -e " + key + " to pass your value at each start and exec");
    }
    // Everything resolved and checked now, as a run would (bind sources, the root filesystem,
    // subordinate ids): a bad option leaves no container behind, and the record holds what
    // was decided, never to be re-read from a config.
    // --image: the image's tree and config, recorded as create decides them (an image is
    // never written after import, and is not removed while this container uses it).
    // Its lock held until the record is written: a concurrent image remove either refuses (the
    // lock, then the record) or has removed it before (create then finds no image).
    std::unique_ptr<ImageUse> image;
    UniqueFd image_hold;
    if (!opts.image.empty()) {
#if KAKURI_HAVE_IMAGES
        image = std::make_unique<ImageUse>(use_image(l.cfg, l.host, opts.image, &image_hold));
#else
        throw Error(std::string("--image: ") + kNoImagesNote);
#endif
    }
    ContainerSpec spec = make_container(opts, l.cfg, l.host, image.get());
    if (opts.hostname.empty() && !l.cfg.hostname.set) spec.policy.hostname = name;
    // Nor a credential the config's env sets: such an entry is left out, and said.
    auto& env = spec.process.rules.env;
    for (auto it = env.begin(); it != env.end();) {
        std::string key = it->substr(0, it->find('='));
        if (!looks_like_credential(key, env_filter(l.cfg))) {
            ++it;
            continue;
        }
        l.report("note: the config's env " + key + "=... is not recorded (a credential); " +
                 "pass it with: kakuri exec -e " + key + " NAME ...");
        it = env.erase(it);
    }
    Record rec;
    rec.name = name;
    rec.created = static_cast<int64_t>(time(nullptr));
    rec.cwd = l.host.cwd;
    rec.network = network_summary(spec.policy);
    rec.root = !spec.layout.image.empty()   ? "image " + spec.layout.image
               : spec.layout.rootfs.empty() ? "host"
                                            : spec.layout.rootfs;
    const bool overlays = std::any_of(spec.layout.binds.begin(), spec.layout.binds.end(),
                                      [](const Bind& b) { return b.overlay; });
    if (opts.dry_run) {
        // What a start -d would set up; nothing is made.
        spec.layout.persist_dir = l.host.resolve(l.store.path(name));
        set_process(spec, {}, l.host);
        std::fputs(format_plan(make_plan(spec)).c_str(), stdout);
        if (spec.policy.limits.cgroup())
            std::fputs(format_cgroup(locate_cgroup(spec.policy.limits, scan_cgroup_host())).c_str(),
                       stdout);
        return 0;
    }
    // Each --overlay's change set, the container's until applied or discarded; none left
    // behind when the container cannot be made.
    std::vector<unsigned> made;
    ScopeGuard unmake([&] {
        for (unsigned id : made) try {
                open_changes(l.cfg, l.host.home).remove(id);
            } catch (const Error&) {
            }
    });
    if (overlays) {
        ChangeStore changes = open_changes(l.cfg, l.host.home);
        changes.clean_leftovers();
        for (auto& b : spec.layout.binds)
            if (b.overlay)
                made.push_back(b.change_set = changes
                                                  .make(b.src, b.dst, name, spec.identity.userns,
                                                        subids_mapped(spec.identity))
                                                  .id);
    }
    rec.spec = container_fields(spec);
    l.store.create(rec, persist_dirs(spec.layout));
    unmake.dismiss();
    if (opts.verbosity >= 0) std::printf("%s\n", name.c_str());
    return 0;
}

// How the run ran ended, unless the container was started again (or removed) meanwhile.
// Best effort: the run's own status is what the caller gets either way.
void record_exit(Loaded& l, const std::string& name, const State& ran, int code) {
    try {
        UniqueFd lock = l.store.lock(name);
        State cur = l.store.state(name);
        if (cur.pid != ran.pid || cur.start_time != ran.start_time) return;
        ExitRecord e;
        if (l.store.exit_record(name, e)) return;  // said first (by stop: killed)
        const int64_t now = time(nullptr);
        l.store.write_exit(name, {code, now});
        // Its init, killed, could not end its section of the log: the same line, from here.
        if (ran.detached) {
            Store::RunFiles f = l.store.open_run_files(name, true);
            log_append({f.log.get(), f.prev.get(), -1, l.cfg.log_max_size.value},
                       log_exited_line(code, now));
        }
    } catch (const Error&) {
    }
}

int start_container(Loaded& l, const std::string& name, const std::vector<std::string>& command,
                    bool detach) {
    Record rec = l.store.record(name);
    UniqueFd lock = l.store.lock(name);
    if (l.store.status(name) == Status::Running)
        throw Error("container '" + name + "' is already running");
    ProcessRequest req;
    req.command = command;
    ContainerSpec spec = container_spec(l, rec, req, command.empty());
    // Its image locked for its whole life (held here, or by a holder when detached), so that
    // image remove refuses it while it runs; gone (image remove -f), the start is refused.
    UniqueFd image_hold;
    if (!spec.layout.image.empty()) {
#if KAKURI_HAVE_IMAGES
        try {
            image_hold = hold_image(l.cfg, l.host, spec.layout.image);
        } catch (const Error& e) {
            throw Error("container '" + name + "' was made from image '" + spec.layout.image +
                        "': " + e.what());
        }
#else
        throw Error(std::string("--image: ") + kNoImagesNote);
#endif
    }
    if (!detach && command.empty())
        spec.process.argv = {l.host.shell.empty() ? "/bin/sh" : l.host.shell};
    // The host's nameservers of today, not of the day it was created.
    if (spec.policy.net.on) choose_dns_forwards(spec.policy.net, l.host.read_text);
    Plan plan = make_plan(spec);
    // Its change sets: never while one is being applied or discarded (their lock), and held
    // shared while a foreground run lasts (a detached one is seen running).
    std::vector<UniqueFd> change_locks;
    for (const auto& b : spec.layout.binds) {
        if (!b.overlay) continue;
        change_locks.push_back(open_changes(l.cfg, l.host.home).open_set(b.change_set));
        if (flock(change_locks.back().get(), LOCK_SH | LOCK_NB) != 0)
            throw Error("change set " + std::to_string(b.change_set) + " of container '" + name +
                        "' is being applied or discarded");
    }
    LaunchHooks hooks;
    hooks.detach = detach;
    hooks.hold = image_hold ? image_hold.get() : -1;
    // A private network: the last run's pasta gone (its ports free), then this run's keeper
    // holds the lock while its pasta lives.
    UniqueFd net;
    if (plan.policy.net.on) {
        net = l.store.net_lock(name);
        check(flock(net.get(), LOCK_EX), "wait for the network of container " + name);
        check(flock(net.get(), LOCK_SH), "lock the network of container " + name);
        hooks.net_hold = net.get();
    }
    // Detached, the container's output goes to its log, which its init keeps within
    // log_max_size and ends with how the run ended (see logfile.hpp).
    Store::RunFiles files = l.store.open_run_files(name, detach);
    const LogFds log{files.log.get(), files.prev.get(), files.exit.get(), l.cfg.log_max_size.value};
    if (detach) hooks.log = log;
    bool userns = plan.identity.userns;
    State ran;
    hooks.on_ready = [&](pid_t pid) {
        State st;
        st.pid = pid;
        st.start_time = process_start_time(pid);
        st.ns = namespaces_of(pid);
        st.pidns = st.ns.ino[2];
        st.userns = userns;
        st.started = true;
        st.started_at = time(nullptr);
        st.detached = detach;
        // Running: the last run's exit record goes (this one's comes when it ends).
        check(ftruncate(files.exit.get(), 0), "reset " + l.store.path(name) + "/exit");
        l.store.write_state(name, st);
        // A section of the log per start, before anything the command writes.
        if (detach) log_append(log, log_started_line(st.started_at));
        ran = st;
        lock.reset();  // others may look now: the state says running
    };
    RunResult r = run_container(plan, hooks);
    if (!detach && ran.pid) record_exit(l, name, ran, r.code);
    return r.status_or_throw();
}

int cmd_start(int argc, char* argv[], const Caller& caller) {
    bool detach = false;
    int first = parse_sub("start", argc, argv, {{"detach", 'd', false}},
                          [&](char c, const std::string&) { detach = c == 'd'; });
    if (first < 0) return 0;
    if (first >= argc) usage("start", "start needs a container NAME");
    std::string name = argv[first];
    std::vector<std::string> command(argv + first + 1, argv + argc);
    if (!detach && command.empty()) usage("start", "start NAME needs a COMMAND, or -d");
    ensure_sealed_self();
    Loaded l = load(caller.config, caller.report);
    return start_container(l, name, command, detach);
}

int exec_into(Loaded& l, const std::string& name, const std::vector<std::string>& command,
              bool as_user, const std::string& workdir, const std::vector<std::string>& env) {
    Record rec = l.store.record(name);
    State st;
    if (l.store.status(name, &st) != Status::Running) throw Error(not_running(name));
    ProcessRequest req;
    req.command = command;
    req.workdir = workdir;
    req.env_set = env;
    req.home_by_default = true;
    ContainerSpec spec = container_spec(l, rec, req, false);
    if (as_user) {
        // As the caller who created it, as --user would have run: its ids inside, no
        // capabilities. They must be mapped in the container's user namespace.
        bool mapped = !spec.identity.userns;
        for (const auto& m : spec.identity.uid_map)
            mapped = mapped || (spec.identity.caller_uid >= m.inside &&
                                spec.identity.caller_uid - m.inside < m.count);
        if (!mapped)
            throw Error("exec --user: only root is mapped in '" + name +
                        "' (create it with --user or --subids to run as yourself)");
        spec.identity.uid = spec.identity.caller_uid;
        spec.identity.gid = spec.identity.caller_gid;
        spec.policy.caps = 0;
    }
    Plan plan = make_plan(spec);
    // The helper that joins is not dumpable (join_container); its command goes through the
    // trampoline, so nothing inside comes to run or write the kakuri binary (sealed.hpp).
    plan.process.exec_trampoline = guard_run(plan.identity.userns, plan.policy.caps);
    RunResult r;
    try {
        Namespaces want = st.ns;
        if (!want.ino[2]) want.ino[2] = st.pidns;  // a state of 0.1 knows only this one
        r = exec_in_container(plan, st.pid, st.start_time, want);
    } catch (const Error& e) {
        if (!state_is_live(st)) throw Error(not_running(name));
        throw;
    }
    return r.status_or_throw();
}

int cmd_exec(int argc, char* argv[], const Caller& caller) {
    bool as_user = false;
    std::string workdir;
    std::vector<std::string> env;
    int first = parse_sub(
        "exec", argc, argv, {{"user", 'u', false}, {"workdir", 'w', true}, {"env", 'e', true}},
        [&](char c, const std::string& v) {
            if (c == 'u') as_user = true;
            if (c == 'w') workdir = v;
            if (c == 'w' && has_control(v))
                usage("exec", "-w " + shown(v) + ": control characters are not allowed in paths");
            if (c == 'e') env.push_back(v);
        });
    if (first < 0) return 0;
    if (argc - first < 2) usage("exec", "exec needs a container NAME and a COMMAND");
    std::string name = argv[first];
    Loaded l = load(caller.config, caller.report);
    return exec_into(l, name, {argv + first + 1, argv + argc}, as_user, workdir, env);
}

int cmd_shell(int argc, char* argv[], const Caller& caller) {
    int first = parse_sub("shell", argc, argv, {}, [](char, const std::string&) {});
    if (first < 0) return 0;
    if (argc - first != 1) usage("shell", "shell takes one container NAME");
    std::string name = argv[first];
    ensure_sealed_self();
    Loaded l = load(caller.config, caller.report);
    if (l.store.status(name) != Status::Running) {
        try {
            start_container(l, name, {}, true);
        } catch (const Error& e) {
            // Another shell may have started it meanwhile.
            if (l.store.status(name) != Status::Running) throw;
        }
    }
    std::string sh = l.host.shell.empty() ? "/bin/sh" : l.host.shell;
    return exec_into(l, name, {sh, "-l"}, false, "", {});
}

int cmd_stop(int argc, char* argv[], const Caller& caller) {
    int timeout = 10;
    int first =
        parse_sub("stop", argc, argv, {{"time", 't', true}}, [&](char, const std::string& v) {
            char* end = nullptr;
            long t = strtol(v.c_str(), &end, 10);
            if (v.empty() || *end || t < 0 || t > 86400)
                usage("stop", "-t takes seconds, not '" + v + "'");
            timeout = static_cast<int>(t);
        });
    if (first < 0) return 0;
    if (first >= argc) usage("stop", "stop needs at least one container NAME");
    Loaded l = load(caller.config, caller.report);
    int rc = 0;
    for (int i = first; i < argc; ++i) {
        std::string name = argv[i];
        l.store.record(name);
        State st;
        if (l.store.status(name, &st) != Status::Running) continue;  // already stopped: fine
        Pidfd init(st.pid, st.start_time);
        if (!init) continue;
        init.signal(SIGTERM);
        if (!init.wait_exit(timeout)) {
            init.signal(SIGKILL);
            init.wait_exit(10);
            // Killed, its init wrote nothing: the record says so (128 + SIGKILL).
            if (!init.alive()) record_exit(l, name, st, 128 + SIGKILL);
        }
        if (init.alive()) {
            l.report("container '" + name + "' did not stop");
            rc = 125;
        } else {
            l.store.wait_net(name);  // its pasta too: its ports are free
        }
    }
    return rc;
}

int cmd_list(int argc, char* argv[], const Caller& caller) {
    bool json = false, quiet = false;
    int first = parse_sub(
        "list", argc, argv, {{"json", 'j', false}, {"quiet", 'q', false}, {"format", 'f', true}},
        [&](char c, const std::string& v) {
            if (c == 'j') json = true;
            if (c == 'q') quiet = true;
            if (c == 'f') {
                if (v != "json" && v != "table")
                    usage("list", "--format takes json or table, not '" + v + "'");
                json = v == "json";
            }
        });
    if (first < 0) return 0;
    if (first != argc) usage("list", "list takes no NAME");
    Loaded l = load(caller.config, caller.report);
    std::vector<ListEntry> entries;
    for (const auto& name : l.store.names()) {
        if (quiet) {
            std::printf("%s\n", name.c_str());
            continue;
        }
        try {
            Record r = l.store.record(name);
            ListEntry e{name, Status::Created, r.network, r.root, r.created, 0, {}};
            State st = l.store.state(name);
            e.status = l.store.status(name);
            e.started = st.started_at;
            if (e.status == Status::Stopped) l.store.exit_record(name, e.exit);
            entries.push_back(std::move(e));
        } catch (const Refusal&) {
            throw;
        } catch (const Error&) {
            continue;  // removed meanwhile
        }
    }
    if (quiet) return 0;
    const int64_t now = time(nullptr);
    std::fputs((json ? format_list_json(entries) : format_list_table(entries, now)).c_str(),
               stdout);
    return 0;
}

int cmd_inspect(int argc, char* argv[], const Caller& caller) {
    bool json = false;
    int first = parse_sub("inspect", argc, argv, {{"json", 'j', false}},
                          [&](char, const std::string&) { json = true; });
    if (first < 0) return 0;
    if (argc - first != 1) usage("inspect", "inspect takes one container NAME");
    std::string name = argv[first];
    Loaded l = load(caller.config, caller.report);
    Record rec = l.store.record(name);
    State st = l.store.state(name);
    Status status = l.store.status(name);
    // The record as create decided it (never an environment value), then its state now.
    Fields f = record_fields(rec);
    f.emplace_back("status", status_name(status));
    if (status == Status::Running) f.emplace_back("pid", std::to_string(st.pid));
    if (st.started_at) f.emplace_back("started", iso_time(st.started_at));
    ExitRecord e;
    if (status == Status::Stopped && l.store.exit_record(name, e)) {
        f.emplace_back("exit_status", std::to_string(e.status));
        f.emplace_back("finished", iso_time(e.finished));
    }
    f.emplace_back("directory", l.store.path(name));
    f.emplace_back("log", l.store.path(name) + "/log");
    std::fputs((json ? format_fields_json(f) : format_fields_text(f)).c_str(), stdout);
    return 0;
}

int cmd_logs(int argc, char* argv[], const Caller& caller) {
    bool follow = false;
    int first = parse_sub("logs", argc, argv, {{"follow", 'f', false}},
                          [&](char, const std::string&) { follow = true; });
    if (first < 0) return 0;
    if (argc - first != 1) usage("logs", "logs takes one container NAME");
    std::string name = argv[first];
    Loaded l = load(caller.config, caller.report);
    l.store.record(name);
    // Following: init pinned before the log is read, so that its end is the log's end.
    State st;
    const bool running = follow && l.store.status(name, &st) == Status::Running;
    Pidfd init;
    if (running) init = Pidfd(st.pid, st.start_time);
    Store::LogFiles f = l.store.open_log(name);
    // Woken by each write to the log (inotify on the file opened, never a name looked up
    // again); without inotify (no instances left), a look every quarter second.
    UniqueFd changes;
    if (init && f.log) {
        changes.reset(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (changes &&
            inotify_add_watch(changes.get(), fd_path(f.log.get()).c_str(), IN_MODIFY) < 0)
            changes.reset();
    }
    LogCursor c;
    std::fflush(stdout);
    if (!log_catch_up(f.log.get(), f.prev.get(), c, STDOUT_FILENO)) return 0;
    for (bool live = bool(init); live;) {
        struct pollfd p[2] = {{init.fd(), POLLIN, 0}, {changes.get(), POLLIN, 0}};
        if (!changes) p[1].fd = -1;
        int r = poll(p, 2, changes || !f.log ? -1 : 250);
        if (r < 0 && errno != EINTR) throw Error("poll", errno);
        if (p[1].revents) {
            char buf[4096];
            while (::read(changes.get(), buf, sizeof buf) > 0) {
            }
        }
        // Ended: init wrote its last line before it exited; this is the rest.
        if (p[0].revents) live = false;
        if (!log_catch_up(f.log.get(), f.prev.get(), c, STDOUT_FILENO)) return 0;
    }
    return 0;
}

// Deletes a container taken out of the store (or a leftover), from a user namespace with its
// mapping when it has subordinate ids. Without a usable record it is removed plainly.
void delete_taken(const Loaded& l, const std::string& entry, const Record* rec) {
    if (rec) {
        bool mapped = false;
        ContainerSpec spec;
        try {
            spec = recorded_container(l, *rec);
            mapped = spec.identity.userns && spec.identity.map_writer == MapWriter::Helpers;
        } catch (const Error&) {
        }
        // From a user namespace with the container's own mapping: see run_in_userns.
        if (mapped)
            return run_in_userns(spec.identity.map_writer, spec.identity.uid_map,
                                 spec.identity.gid_map, spec.identity.newuidmap,
                                 spec.identity.newgidmap, "remove " + l.store.path(entry),
                                 [&] { remove_tree_at(l.store.fd(), entry); });
    }
    remove_tree_at(l.store.fd(), entry);
}

#if KAKURI_HAVE_IMAGES
// A stopped container's root, as commit and export read it: the tree below (its image's or
// --rootfs's) and its upper layer; refused for a running one (its layer is changing) and for
// one on the host's system directories, which has no root of its own.
CommitFrom root_of(const Loaded& l, const std::string& name, const ContainerSpec& spec,
                   const std::string& sub) {
    if (l.store.status(name) == Status::Running)
        throw Error("container '" + name + "' is running (stop it first: its layer is changing)");
    if (spec.layout.rootfs.empty())
        throw Error("container '" + name + "' runs on the host's system directories: only one " +
                    "made with --image or --rootfs has a root to " + sub);
    CommitFrom from;
    from.container = name;
    from.lower = spec.layout.rootfs;
    from.image = spec.layout.image;
    from.upper = l.store.path(name) + "/" + persist_root_layer().upper;
    from.config.env = spec.process.rules.image_env;
    from.config.cmd = spec.process.rules.image_command;
    from.config.workdir = spec.process.rules.image_workdir;
    return from;
}
#endif

// kakuri commit NAME IMAGE: the container's root (its tree below and its upper layer) as a new
// image; a running container's layer is still changing, so it must be stopped.
int cmd_commit(int argc, char* argv[], const Caller& caller) {
    int verbosity = 0;
    int first = parse_sub("commit", argc, argv, {{"quiet", 'q', false}},
                          [&](char, const std::string&) { verbosity = -1; });
    if (first < 0) return 0;
    if (argc - first != 2) usage("commit", "commit takes a container NAME and an IMAGE name");
    const std::string name = argv[first], image = argv[first + 1];
    check_container_name(name);
#if KAKURI_HAVE_IMAGES
    Loaded l = load(caller.config, caller.report);
    Record rec = l.store.record(name);
    UniqueFd lock = l.store.lock(name);
    ContainerSpec spec = recorded_container(l, rec);
    commit_image(l.config_path, caller.report, root_of(l, name, spec, "commit"), image, verbosity);
    return 0;
#else
    (void)caller;
    (void)image;
    throw Error(kNoImagesNote);
#endif
}

// kakuri export --bundle NAME DIR [COMMAND...]: the stopped container as an OCI runtime bundle
// (README, "Exporting a container to an OCI runtime"). Its process is made as a start's would be
// from a caller with an empty environment: no value of the caller's goes into config.json, and
// nothing of the host is mounted for its words.
int cmd_export(int argc, char* argv[], const Caller& caller) {
    int verbosity = 0;
    bool bundle = false, tty = false;
    int first = parse_sub("export", argc, argv,
                          {{"bundle", 'b', false}, {"tty", 't', false}, {"quiet", 'q', false}},
                          [&](char c, const std::string&) {
                              if (c == 'b') bundle = true;
                              if (c == 't') tty = true;
                              if (c == 'q') verbosity = -1;
                          });
    if (first < 0) return 0;
    if (!bundle)
        usage("export", "export writes an OCI runtime bundle: kakuri export --bundle NAME DIR");
    if (argc - first < 2) usage("export", "export --bundle takes a container NAME and a DIR");
    const std::string name = argv[first];
    std::string dir = argv[first + 1];
    const std::vector<std::string> command(argv + first + 2, argv + argc);
    check_container_name(name);
    if (dir.empty()) usage("export", "export --bundle: an empty DIR");
#if KAKURI_HAVE_IMAGES
    Loaded l = load(caller.config, caller.report);
    Record rec = l.store.record(name);
    UniqueFd lock = l.store.lock(name);
    ContainerSpec spec = recorded_container(l, rec);
    const CommitFrom from = root_of(l, name, spec, "export");
    // kakuri's own state, hidden where it is now (as each start hides it); a directory of it a
    // bind would show is made first, as a start makes it, lest a program inside plant one.
    spec.layout.hidden = own_state(l.config_path, l.cfg, l.host);
    for (const auto& h : spec.layout.hidden) {
        if (!h.dir || !h.make) continue;
        for (const auto& b : spec.layout.binds)
            if (!b.overlay && h.path != b.src && path_within(h.path, b.src)) {
                Trusted t = make_trusted_dir(h.path, getuid());
                if (!t.fd) throw Error("export: make " + h.path, t.err);
                break;
            }
    }
    spec.layout.persist_dir = l.host.resolve(l.store.path(name));
    HostInfo none = l.host;
    none.environ.clear();
    none.cwd.clear();
    none.shell.clear();
    none.home = spec.layout.home;
    spec.process.rules.auto_mount = "off";
    set_process(spec, {command, "", {}, false}, none);
    for (const auto& kv : spec.process.rules.env_set)
        if (kv.find('=') == std::string::npos)
            caller.report("note: -e " + kv + " passes the caller's value at each start: the " +
                          "bundle has none (its config.json holds no value of yours)");
    if (spec.policy.net.on)
        caller.report("note: container '" + name + "' has a private network through pasta: " +
                      "the bundle's network namespace has only lo (its runtime's caller "
                      "connects it)");
    if (dir[0] != '/') dir = l.host.cwd + "/" + dir;
    dir = normalize_path(dir);
    // Not into containers_dir, images_dir or a config directory: what kakuri reads to decide
    // what a container may do is written by kakuri alone.
    const std::string resolved =
        normalize_path(l.host.resolve(parent_path(dir)) + "/" + base_name(dir));
    for (const auto& h : spec.layout.hidden)
        if (path_within(resolved, h.path))
            throw Error("export --bundle " + shown(dir) + ": it is inside kakuri's own state (" +
                        h.what + " " + h.path + ")");
    write_bundle(l.config_path, from, spec, dir, tty, verbosity);
    if (verbosity >= 0) std::printf("%s\n", dir.c_str());
    return 0;
#else
    (void)caller;
    (void)command;
    (void)tty;
    (void)verbosity;
    throw Error(kNoImagesNote);
#endif
}

void keep_or_drop_change_sets(const Loaded& l, const Record& rec);

int cmd_remove(int argc, char* argv[], const Caller& caller) {
    bool force = false;
    int first = parse_sub("remove", argc, argv, {{"force", 'f', false}},
                          [&](char, const std::string&) { force = true; });
    if (first < 0) return 0;
    if (first >= argc) usage("remove", "remove needs at least one container NAME");
    Loaded l = load(caller.config, caller.report);
    for (int i = first; i < argc; ++i) {
        std::string name = argv[i];
        check_container_name(name);
        UniqueFd lock = l.store.lock(name);
        State st;
        if (l.store.status(name, &st) == Status::Running) {
            if (!force)
                throw Error("container '" + name + "' is running (stop it first, or remove -f)");
            if (Pidfd init{st.pid, st.start_time}) {
                init.signal(SIGKILL);
                if (init.wait_exit(10)) l.store.wait_net(name);
            }
        }
        // Needs the record: a container whose record is unreadable is still removed plainly.
        Record rec;
        bool has_record = false;
        try {
            rec = l.store.record(name);
            has_record = true;
        } catch (const Refusal&) {
            throw;
        } catch (const Error&) {
        }
        Store::Taken taken = l.store.take(name);
        delete_taken(l, taken.name, has_record ? &rec : nullptr);
        if (has_record) keep_or_drop_change_sets(l, rec);
    }
    return 0;
}

// ---- change sets (README, "Copy-on-write views") ----

int64_t now_ns() {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// The work on a change set's upper layer: as real root, in kakuri itself; unprivileged, in a
// child of kakuri's in a user namespace where the caller is root (run_in_userns) and, when its
// container mapped them, so are the caller's subordinate ids. So a file or directory the
// program made unreadable to its owner (chmod 000), or gave a subordinate id, is read, applied
// and removed as the container saw it. Only kakuri's own code runs there, on fds it opened.
LayerRunner layer_owner(const Config& cfg, const HostInfo& host, const ChangeMeta& m,
                        const std::string& what) {
    if (getuid() == 0) return [](const std::function<void()>& fn) { fn(); };
    Identity id;
    try {
        id = layer_identity(cfg, host, m.subids);
    } catch (const Error&) {
        // No range any more: what is the subordinate ids' stays unreadable, and is said so.
        id = layer_identity(cfg, host, false);
    }
    return [id, what](const std::function<void()>& fn) {
        std::fflush(nullptr);  // nothing buffered is written twice, by both
        run_in_userns(id.map_writer, id.uid_map, id.gid_map, id.newuidmap, id.newgidmap, what, [&] {
            fn();
            std::fflush(nullptr);
        });
    };
}

// What fn (run by `run`) returns, handed back through a memfd whatever its size.
std::string layer_result(const LayerRunner& run, const std::function<std::string()>& fn) {
    UniqueFd mem(check(memfd_create("kakuri-changes", MFD_CLOEXEC), "create a memfd"));
    run([&] {
        const std::string out = fn();
        for (size_t at = 0; at < out.size();) {
            ssize_t n = ::write(mem.get(), out.data() + at, out.size() - at);
            if (n < 0) throw Error("write the changes", errno);
            at += static_cast<size_t>(n);
        }
    });
    std::string text;
    if (lseek(mem.get(), 0, SEEK_SET) != 0 || !read_all(mem.get(), text))
        throw Error("read the changes", errno);
    return text;
}

// A change set's upper layer and SRC, opened here: never through a link.
struct SetFds {
    UniqueFd set, upper, src;
};
SetFds open_set_fds(const ChangeStore& cs, unsigned id, const ChangeMeta& m) {
    SetFds f;
    f.set = cs.open_set(id);
    f.upper.reset(::openat(f.set.get(), "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!f.upper) throw Error("open " + cs.path(id) + "/upper", errno);
    f.set.reset();  // the lock, where one is held, is its own fd
    f.src.reset(sys_openat2(AT_FDCWD, m.src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                            RESOLVE_NO_SYMLINKS));
    if (!f.src)
        throw Error("change set " + std::to_string(id) + ": its directory " + m.src +
                        " cannot be opened (without following a link)",
                    errno);
    return f;
}

std::vector<Change> changes_of(const Config& cfg, const HostInfo& host, const ChangeStore& cs,
                               unsigned id, const ChangeMeta& m) {
    SetFds f = open_set_fds(cs, id, m);
    return parse_change_records(layer_result(
        layer_owner(cfg, host, m, "read change set " + std::to_string(id)),
        [&] { return format_change_records(scan_changes(f.upper.get(), f.src.get(), m)); }));
}

// The config file a note's commands must name to find this changes_dir again ("" for the
// default files): --config's, else $KAKURI_CONFIG's, absolute.
std::string config_named(const std::string& config, const HostInfo& host) {
    std::string c = config.empty() ? env_value(host.environ, "KAKURI_CONFIG").value_or("") : config;
    if (!c.empty() && c[0] != '/') c = normalize_path(host.cwd + "/" + c);
    return c;
}

// A word as a POSIX shell reads it back: as it is when it needs no quoting, else in single quotes.
std::string shell_word(const std::string& w) {
    if (!w.empty() && w.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_-./+:=@%,") == std::string::npos)
        return w;
    std::string out = "'";
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string changes_note(size_t n, const ChangeMeta& m, const std::string& config) {
    const std::string id = std::to_string(m.id);
    const std::string k =
        config.empty() ? "kakuri " : "kakuri --config " + shell_word(config) + " ";
    return "note: " + std::to_string(n) + (n == 1 ? " change" : " changes") + " under " + m.src +
           " kept as change set " + id + ": " + k + "changes " + id + ", " + k + "apply " + id +
           ", " + k + "discard " + id;
}

// A removed container's change sets: an empty one goes with it, one with changes stays (work
// never vanishes), and is said.
void keep_or_drop_change_sets(const Loaded& l, const Record& rec) {
    ContainerSpec spec;
    try {
        spec = recorded_container(l, rec);
    } catch (const Error&) {
        return;
    }
    for (const auto& b : spec.layout.binds) {
        if (!b.overlay) continue;
        try {
            ChangeStore cs = open_changes(l.cfg, l.host.home);
            ChangeMeta m = cs.meta(b.change_set);
            if (m.container != rec.name) continue;
            const std::vector<Change> v = changes_of(l.cfg, l.host, cs, m.id, m);
            if (v.empty())
                cs.remove(m.id, layer_owner(l.cfg, l.host, m, "remove " + cs.path(m.id)));
            else
                l.report(changes_note(v.size(), m, config_named(l.config_path, l.host)));
        } catch (const Error& e) {
            l.report(std::string("change set of --overlay ") + b.src + ": " + e.what());
        }
    }
}

// Neither applied nor discarded while a container writes it: a temporary run holds its lock
// (shared), a persistent container is running.
UniqueFd take_change_set(const Loaded& l, const ChangeStore& cs, unsigned id, const ChangeMeta& m) {
    UniqueFd set = cs.open_set(id);
    if (flock(set.get(), LOCK_EX | LOCK_NB) != 0)
        throw Error("change set " + std::to_string(id) + " is in use by a running container");
    if (!m.container.empty() && l.store.exists(m.container) &&
        l.store.status(m.container) == Status::Running)
        throw Error("change set " + std::to_string(id) + " belongs to container '" + m.container +
                    "', which is running (stop it first)");
    return set;
}

unsigned change_id(const std::string& sub, const std::string& word) {
    unsigned id = 0;
    if (!parse_change_id(word, id))
        usage(sub, "not a change set id: " + shown(word) + " (see: kakuri changes)");
    return id;
}

// How many changes each set holds ("?" where it cannot be read), counted by children in
// batches: a child (and its user namespace) per kKeepOpen sets, two fds open per set.
std::vector<std::string> change_counts(const Loaded& l, const ChangeStore& cs,
                                       const std::vector<ChangeMeta>& sets) {
    const size_t kKeepOpen = 32;
    std::vector<std::string> counts(sets.size(), "?");
    for (size_t from = 0; from < sets.size(); from += kKeepOpen) {
        const size_t to = std::min(sets.size(), from + kKeepOpen);
        std::vector<SetFds> fds(to - from);
        ChangeMeta widest;  // subordinate ids mapped when any set of the batch needs them
        for (size_t i = from; i < to; ++i) {
            try {
                fds[i - from] = open_set_fds(cs, sets[i].id, sets[i]);
                widest.subids = widest.subids || sets[i].subids;
            } catch (const Error&) {
            }
        }
        std::string text;
        try {
            text = layer_result(layer_owner(l.cfg, l.host, widest, "read the change sets"), [&] {
                std::string out;
                for (size_t i = from; i < to; ++i) {
                    const SetFds& f = fds[i - from];
                    std::string n = "?";
                    if (f.upper) try {
                            n = std::to_string(
                                scan_changes(f.upper.get(), f.src.get(), sets[i]).size());
                        } catch (const Error&) {
                        }
                    out += n + "\n";
                }
                return out;
            });
        } catch (const Error&) {
        }
        std::istringstream in(text);
        std::string line;
        for (size_t i = from; i < to && std::getline(in, line); ++i) counts[i] = line;
    }
    return counts;
}

// kakuri changes [--json] [ID [--diff]]
int cmd_changes(int argc, char* argv[], const Caller& caller) {
    bool json = false, diff = false, quiet = false;
    int first = parse_sub(
        "changes", argc, argv,
        {{"json", 1, false}, {"format", 2, true}, {"diff", 3, false}, {"quiet", 'q', false}},
        [&](char c, const std::string& v) {
            if (c == 1) json = true;
            if (c == 3) diff = true;
            if (c == 'q') quiet = true;
            if (c == 2) {
                if (v != "json") usage("changes", "--format takes json");
                json = true;
            }
        });
    if (first < 0) return 0;
    if (argc - first > 1) usage("changes", "changes takes at most one change set ID");
    if (int(diff) + int(json) + int(quiet) > 1)
        usage("changes", "--diff, --json and --quiet do not go together");
    Loaded l = load(caller.config, caller.report);
    ChangeStore cs = open_changes(l.cfg, l.host.home);
    cs.clean_leftovers();
    if (first == argc) {
        if (diff) usage("changes", "--diff needs a change set ID");
        if (quiet) {
            for (const auto& m : cs.list()) std::printf("%u\n", m.id);
            return 0;
        }
        const int64_t now = now_ns();
        std::string out = json ? "[" : "";
        bool any = false;
        if (!json) out += "ID  CHANGES  AGE              CONTAINER  SRC\n";
        const std::vector<ChangeMeta> sets = cs.list();
        const std::vector<std::string> counts = change_counts(l, cs, sets);
        for (size_t i = 0; i < sets.size(); ++i) {
            const ChangeMeta& m = sets[i];
            const std::string& count = counts[i];
            const std::string age = time_ago(m.created_ns / 1000000000, now / 1000000000);
            if (json) {
                out += std::string(any ? "," : "") + "\n  " +
                       format_fields_json({{"id", std::to_string(m.id)},
                                           {"src", m.src},
                                           {"dst", m.dst},
                                           {"changes", count},
                                           {"created", iso_time(m.created_ns / 1000000000)},
                                           {"container", m.container}});
                while (!out.empty() && out.back() == '\n') out.pop_back();
            } else {
                char line[128];
                snprintf(line, sizeof line, "%-3u %-8s %-16s %-10s ", m.id, count.c_str(),
                         age.c_str(), m.container.empty() ? "-" : m.container.c_str());
                out += line + one_line(m.src) + "\n";
            }
            any = true;
        }
        if (json) out += any ? "\n]\n" : "]\n";
        std::fputs(out.c_str(), stdout);
        return 0;
    }
    if (quiet) usage("changes", "--quiet lists the ids of every change set: no ID");
    const unsigned id = change_id("changes", argv[first]);
    const ChangeMeta m = cs.meta(id);
    const std::vector<Change> v = changes_of(l.cfg, l.host, cs, id, m);
    if (json) {
        std::fputs(format_changes_json(v).c_str(), stdout);
        return 0;
    }
    if (!diff) {
        std::fputs(format_changes(v).c_str(), stdout);
        return 0;
    }
    SetFds f = open_set_fds(cs, id, m);
    layer_owner(l.cfg, l.host, m, "diff change set " + std::to_string(id))([&] {
        for (const auto& c : v) diff_change(f.upper.get(), f.src.get(), c, stdout);
    });
    return 0;
}

// kakuri apply [--force] ID [PATH...]
int cmd_apply(int argc, char* argv[], const Caller& caller) {
    bool force = false;
    int first = parse_sub("apply", argc, argv, {{"force", 'f', false}},
                          [&](char, const std::string&) { force = true; });
    if (first < 0) return 0;
    if (first >= argc) usage("apply", "apply needs a change set ID");
    const unsigned id = change_id("apply", argv[first]);
    Loaded l = load(caller.config, caller.report);
    ChangeStore cs = open_changes(l.cfg, l.host.home);
    const ChangeMeta m = cs.meta(id);
    UniqueFd lock = take_change_set(l, cs, id, m);
    const std::vector<Change> all = changes_of(l.cfg, l.host, cs, id, m);
    // PATHs as `changes` shows them (relative to SRC), or absolute under SRC or DST.
    std::vector<std::string> chosen_paths;
    for (int i = first + 1; i < argc; ++i) {
        std::string p = argv[i];
        if (!p.empty() && p[0] == '/') {
            p = normalize_path(p);
            const std::string base = path_within(p, m.src)   ? m.src
                                     : path_within(p, m.dst) ? m.dst
                                                             : "";
            if (base.empty())
                usage("apply", shown(argv[i]) + " is not under " + m.src + " nor " + m.dst);
            p = p == base ? "" : p.substr(base == "/" ? 1 : base.size() + 1);
        }
        p = normalize_path("/" + p).substr(1);
        bool any = false;
        for (const auto& c : all) any = any || change_chosen(c, p);
        if (!any)
            usage("apply",
                  "no change in change set " + std::to_string(id) + " is at " + shown(argv[i]));
        chosen_paths.push_back(p);
    }
    std::vector<Change> chosen;
    for (const auto& c : all) {
        bool take = chosen_paths.empty();
        for (const auto& p : chosen_paths) take = take || change_chosen(c, p);
        if (take) chosen.push_back(c);
    }
    // kakuri's own state is never written from a change set (a forged record or config).
    const std::vector<HiddenPath> own = own_state(l.config_path, l.cfg, l.host);
    ApplyOptions ao;
    ao.force = force;
    ao.as_root = getuid() == 0;
    ao.refuse = [&](const std::string& rel) -> std::string {
        const std::string host = normalize_path(m.src + "/" + rel);
        for (const auto& h : own)
            if (path_within(host, h.path) || path_within(h.path, host))
                return "kakuri's own state (" + h.what + " " + h.path + "): never applied";
        return "";
    };
    // Applied, and what is left counted, where the upper layer's owners are mapped; the result
    // comes back as records: a line "APPLIED LEFT REFUSED CONFLICTS FAILED", then those changes.
    SetFds f = open_set_fds(cs, id, m);
    const std::string text =
        layer_result(layer_owner(l.cfg, l.host, m, "apply change set " + std::to_string(id)), [&] {
            ApplyResult r = apply_changes(f.upper.get(), f.src.get(), chosen, ao);
            const size_t left = scan_changes(f.upper.get(), f.src.get(), m).size();
            return std::to_string(r.applied) + " " + std::to_string(left) + " " +
                   std::to_string(r.refused.size()) + " " + std::to_string(r.conflicts.size()) +
                   " " + std::to_string(r.failed.size()) + "\n" + format_change_records(r.refused) +
                   format_change_records(r.conflicts) + format_change_records(r.failed);
        });
    const size_t head = text.find('\n');
    size_t applied = 0, left = 0, n_refused = 0, n_conflicts = 0, n_failed = 0;
    if (head == std::string::npos ||
        sscanf(text.substr(0, head).c_str(), "%zu %zu %zu %zu %zu", &applied, &left, &n_refused,
               &n_conflicts, &n_failed) != 5)
        throw Error("apply " + std::to_string(id) + ": no result");
    const std::vector<Change> all_back = parse_change_records(text.substr(head + 1));
    if (all_back.size() != n_refused + n_conflicts + n_failed)
        throw Error("apply " + std::to_string(id) + ": a bad result");
    ApplyResult r;
    r.applied = applied;
    r.refused.assign(all_back.begin(), all_back.begin() + static_cast<long>(n_refused));
    r.conflicts.assign(all_back.begin() + static_cast<long>(n_refused),
                       all_back.begin() + static_cast<long>(n_refused + n_conflicts));
    r.failed.assign(all_back.begin() + static_cast<long>(n_refused + n_conflicts), all_back.end());
    for (const auto& c : r.refused) l.report("not applied: " + c.path + ": " + c.why);
    if (!r.conflicts.empty() && !force) {
        for (const auto& c : r.conflicts)
            l.report("conflict: " + m.src + "/" + c.path +
                     " changed on the host since the container wrote it");
        throw Error(
            "apply " + std::to_string(id) + ": " + std::to_string(r.conflicts.size()) +
            (r.conflicts.size() == 1 ? " conflict" : " conflicts") +
            ", nothing applied (see the lines above; --force overwrites the host's versions)");
    }
    for (const auto& c : r.failed) l.report("failed: " + c.path + ": " + c.why);
    // A temporary container's change set with nothing left goes; a persistent container's stays.
    f = SetFds{};
    lock.reset();
    if (left == 0 && m.container.empty())
        cs.remove(id, layer_owner(l.cfg, l.host, m, "remove " + cs.path(id)));
    std::printf("applied %zu of change set %u to %s%s\n", r.applied, id, m.src.c_str(),
                left ? (", " + std::to_string(left) + " left (kakuri discard " +
                        std::to_string(id) + " drops them)")
                           .c_str()
                     : "");
    if (!r.failed.empty())
        throw Error("apply " + std::to_string(id) + ": " + std::to_string(r.failed.size()) +
                    " of the changes could not be applied (see the lines above)");
    return 0;
}

// kakuri discard ID...
int cmd_discard(int argc, char* argv[], const Caller& caller) {
    int first = parse_sub("discard", argc, argv, {}, [&](char, const std::string&) {});
    if (first < 0) return 0;
    if (first >= argc) usage("discard", "discard needs a change set ID");
    Loaded l = load(caller.config, caller.report);
    ChangeStore cs = open_changes(l.cfg, l.host.home);
    for (int i = first; i < argc; ++i) {
        const unsigned id = change_id("discard", argv[i]);
        const ChangeMeta m = cs.meta(id);
        UniqueFd lock = take_change_set(l, cs, id, m);
        // A persistent container keeps its (now empty) change set; another one goes whole.
        const LayerRunner owner =
            layer_owner(l.cfg, l.host, m, "discard change set " + std::string(argv[i]));
        if (!m.container.empty() && l.store.exists(m.container))
            cs.empty(id, owner);
        else {
            lock.reset();
            cs.remove(id, owner);
        }
    }
    return 0;
}

}  // namespace

RunChangeSets::RunChangeSets(ContainerSpec& spec, const Config& cfg, const HostInfo& host,
                             const std::string& config, bool dry_run)
    : cfg_(cfg), host_(host), config_(config_named(config, host)) {
    for (auto& b : spec.layout.binds) {
        if (!b.overlay || dry_run) continue;
        if (!store_) {
            store_ = std::make_unique<ChangeStore>(open_changes(cfg, host.home));
            store_->clean_leftovers();
        }
        ChangeMeta m =
            store_->make(b.src, b.dst, "", spec.identity.userns, subids_mapped(spec.identity));
        made_.push_back(m);
        b.change_set = m.id;
        b.layer = store_->path(m.id);
        // Held (shared) while the container lives: apply and discard wait for no one.
        locks_.push_back(store_->open_set(m.id));
        check(flock(locks_.back().get(), LOCK_SH), "lock change set " + std::to_string(m.id));
    }
}

RunChangeSets::~RunChangeSets() {
    locks_.clear();
    for (const auto& m : made_) {
        try {
            if (changes_of(cfg_, host_, *store_, m.id, m).empty())
                store_->remove(m.id, layer_owner(cfg_, host_, m, "remove " + store_->path(m.id)));
        } catch (const Error&) {
        }
    }
}

void RunChangeSets::finish(const Report& report, bool quiet) {
    locks_.clear();
    for (const auto& m : made_) {
        try {
            const std::vector<Change> v = changes_of(cfg_, host_, *store_, m.id, m);
            if (v.empty())
                store_->remove(m.id, layer_owner(cfg_, host_, m, "remove " + store_->path(m.id)));
            else if (!quiet)
                report(changes_note(v.size(), m, config_));
        } catch (const Error& e) {
            report("change set " + std::to_string(m.id) + ": " + e.what());
        }
    }
    made_.clear();
}

bool is_container_subcommand(const std::string& word) {
    for (const char* s : kSubcommands)
        if (word == s) return true;
    return false;
}

std::string container_help(const std::string& sub) {
    if (sub == "create")
        return "Usage: kakuri create [RUN-OPTIONS] NAME\nResolve RUN-OPTIONS (see kakuri --help) "
               "once, record what they decide and make a persistent container (--dry-run: print "
               "the plan, make nothing); its system directories' changes and its home are kept "
               "under containers_dir. No environment value is recorded: each start and exec "
               "passes its caller's, without the credentials; -e NAME records a name whose value "
               "they pass, and -e NAME=VALUE is refused for a credential.\n";
    if (sub == "start")
        return "Usage: kakuri start [-d|--detach] NAME [COMMAND [ARG...]]\nRun COMMAND as the "
               "container's main process, in the foreground; with -d in the background (no "
               "COMMAND: an idle init) and return once it is ready.\n";
    if (sub == "exec")
        return "Usage: kakuri exec [-u|--user] [-w DIR] [-e K[=V]]... NAME COMMAND [ARG...]\nRun "
               "COMMAND in the running container NAME, in your environment of now without the "
               "credentials (see kakuri(1)); -e K=V sets K, -e K passes your K.\n";
    if (sub == "shell")
        return "Usage: kakuri shell NAME\nA login shell in NAME, starting it first if needed.\n";
    if (sub == "stop")
        return "Usage: kakuri stop [-t SECONDS] NAME...\nSIGTERM to everything inside, SIGKILL "
               "after SECONDS (default 10).\n";
    if (sub == "list")
        return "Usage: kakuri list [--json|--format=json | -q|--quiet]\nNAME, STATUS, NETWORK, "
               "ROOT, CREATED of every container; STATUS of a stopped one says how it ended: "
               "exited (N) 3 minutes ago.\n";
    if (sub == "inspect")
        return "Usage: kakuri inspect [--json] NAME\nThe container's record and state as "
               "key: value lines, or one JSON object: what create decided (identity, network, "
               "hostname, root, binds, capabilities, filter, environment rules), status, pid when "
               "running, last started, last exit status. Never an environment value.\n";
    if (sub == "logs")
        return "Usage: kakuri logs [-f|--follow] NAME\nWhat the container's detached runs "
               "(start -d) wrote, log.1 then log, each run a section from a 'started' line to an "
               "'exited (N)' line; -f then follows until the container stops.\n";
    if (sub == "commit")
        return "Usage: kakuri commit [-q|--quiet] NAME IMAGE\nMake the image IMAGE of the "
               "stopped container NAME's root as it is now: the image or --rootfs tree it was "
               "created on with what it wrote over it (see kakuri help image).\n";
    if (sub == "export")
        return "Usage: kakuri export --bundle [-t|--tty] [-q|--quiet] NAME DIR [COMMAND [ARG...]]"
               "\nWrite an OCI runtime bundle of the stopped container NAME at DIR, which must not "
               "exist: DIR/rootfs, its root as it is now (as commit makes it), and "
               "DIR/config.json, "
               "its isolation for runc or crun (namespaces and id maps, mounts and binds, "
               "capabilities, no_new_privs, the default seccomp filter, hostname, limits) and its "
               "process: COMMAND, else the image's own, else /bin/sh, with the recorded "
               "environment (none of yours); -t: terminal true. Start it with: runc run --bundle "
               "DIR ID.\n";
    if (sub == "changes")
        return "Usage: kakuri changes [--json|--format=json | -q|--quiet | --diff] [ID]\n"
               "Without ID: every change set (ID, CHANGES, AGE, CONTAINER, SRC; -q: the ids). With "
               "ID: what "
               "its --overlay's program changed under SRC: added, modified, deleted, renamed, "
               "mode, refused (never applied); --diff: a unified diff of text files, a line for "
               "others and for files over 16 MiB. What a terminal would act on is escaped "
               "(\\xNN).\n";
    if (sub == "apply")
        return "Usage: kakuri apply [-f|--force] ID [PATH...]\nWrite change set ID's changes "
               "(those at or below each PATH; all without one) to its SRC, each file replaced "
               "atomically. A path changed on the host since the container wrote it is a "
               "conflict: nothing is applied (exit 125) unless --force. Never follows a link, "
               "never applies device nodes, fifos, sockets or links leading out, never sets "
               "setuid or setgid.\n";
    if (sub == "discard")
        return "Usage: kakuri discard ID...\nDelete change sets (a persistent container's is "
               "emptied: it keeps it).\n";
    return "Usage: kakuri remove [-f|--force] NAME...\nDelete containers and everything they "
           "wrote; -f stops a running one first.\n";
}

int run_container_subcommand(int argc, char* argv[], const Caller& caller) {
    std::string sub = argv[0];
    if (sub == "create") return cmd_create(argc, argv, caller);
    if (sub == "start") return cmd_start(argc, argv, caller);
    if (sub == "exec") return cmd_exec(argc, argv, caller);
    if (sub == "shell") return cmd_shell(argc, argv, caller);
    if (sub == "stop") return cmd_stop(argc, argv, caller);
    if (sub == "list") return cmd_list(argc, argv, caller);
    if (sub == "inspect") return cmd_inspect(argc, argv, caller);
    if (sub == "logs") return cmd_logs(argc, argv, caller);
    if (sub == "commit") return cmd_commit(argc, argv, caller);
    if (sub == "export") return cmd_export(argc, argv, caller);
    if (sub == "changes") return cmd_changes(argc, argv, caller);
    if (sub == "apply") return cmd_apply(argc, argv, caller);
    if (sub == "discard") return cmd_discard(argc, argv, caller);
    return cmd_remove(argc, argv, caller);
}

}  // namespace kakuri
