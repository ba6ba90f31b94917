// main: dispatches subcommands; the one place that prints an error and picks the exit code.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "cgroup.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "features.hpp"
#if KAKURI_HAVE_IMAGES
#include "images.hpp"
#endif
#include "launch.hpp"
#include "plan.hpp"
#include "sealed.hpp"
#include "spec.hpp"
#include "sys.hpp"

using namespace kakuri;

namespace {

// An error, or what a subcommand met without stopping: one line, whatever a path or value in
// it holds.
void say(const std::string& message) {
    std::fprintf(stderr, "kakuri: %s\n", one_line(message).c_str());
}

std::string image_help_text() {
#if KAKURI_HAVE_IMAGES
    return image_help();
#else
    return std::string(kNoImagesNote) + "\n";
#endif
}

// --image NAME: the image, found in images_dir (images.hpp); nullptr without --image. hold
// gets its lock, which kakuri keeps until the container is over.
std::unique_ptr<ImageUse> image_of(const Options& opts, const Config& cfg, const HostInfo& host,
                                   UniqueFd& hold) {
    if (opts.image.empty()) return nullptr;
#if KAKURI_HAVE_IMAGES
    return std::make_unique<ImageUse>(use_image(cfg, host, opts.image, &hold));
#else
    (void)cfg;
    (void)host;
    (void)hold;
    throw Error(std::string("--image: ") + kNoImagesNote);
#endif
}

int run(int argc, char* argv[]) {
    // kakuri needs no privileges of its own; a setuid copy is a mistake or an attack.
    if (getuid() != geteuid() || getgid() != getegid())
        throw Error("refusing to run setuid or setgid: kakuri needs no privileges of its own");

    // `kakuri --config FILE SUBCOMMAND`: the file every subcommand finds its store by. Before
    // anything else (`kakuri --config F echo`), --config is one of the run options.
    std::string global_config;
    int sub = parse_global_options(argc, argv, global_config);
    const char* word = sub < argc ? argv[sub] : nullptr;
    if (word && strcmp(word, "help") == 0) {
        if (sub + 1 < argc && strcmp(argv[sub + 1], "image") == 0)
            std::fputs(image_help_text().c_str(), stdout);
        else if (sub + 1 < argc && is_container_subcommand(argv[sub + 1]))
            std::fputs(container_help(argv[sub + 1]).c_str(), stdout);
        else
            std::fputs(run_help_text().c_str(), stdout);
        return 0;
    }
    if (word && is_container_subcommand(word))
        return run_container_subcommand(argc - sub, argv + sub, {global_config, say});
    if (word && strcmp(word, "image") == 0) {
#if KAKURI_HAVE_IMAGES
        return run_image_subcommand(argc - sub, argv + sub, global_config, say);
#else
        throw Error(kNoImagesNote);
#endif
    }
    bool show_config = word && strcmp(word, "config") == 0;
    if (show_config) {
        argc -= sub;
        argv += sub;
    }
    Options opts = parse_run_options(argc, argv);
    if (show_config && !global_config.empty()) {
        if (!opts.config.empty() && opts.config != global_config)
            throw Error("--config is given twice, as " + shown(global_config) + " and " +
                        shown(opts.config) + " (see 'kakuri --help')");
        opts.config = global_config;
    }
    if (opts.help) {
        std::fputs(run_help_text().c_str(), stdout);
        return 0;
    }
    if (opts.version) {
        std::fputs(version_text().c_str(), stdout);
        return 0;
    }
    HostInfo host = scan_host(kakuri_binary());
    Config cfg = load_configs(opts.config, host.home);
    if (show_config) {
        if (!opts.command.empty())
            throw Error("config takes run options only (see 'kakuri --help')");
        std::fputs(format_config(effective_config(opts, cfg)).c_str(), stdout);
        return 0;
    }
    // The image's lock, held to the end: image remove refuses an image a container runs on.
    // Closed inside by init before anything of the container runs (keep_own_fds).
    UniqueFd image_hold;
    ContainerSpec spec = make_spec(opts, cfg, host, image_of(opts, cfg, host, image_hold).get());
    // Each --overlay's change set, made before the plan that mounts it.
    RunChangeSets change_sets(spec, cfg, host, opts.config, opts.dry_run);
    Plan plan = make_plan(spec);
    if (opts.verbosity > 0)
        for (const auto& n : spec.notes) std::fprintf(stderr, "kakuri: %s\n", n.c_str());
    if (opts.dry_run) {
        std::fputs(format_plan(plan).c_str(), stdout);
        std::printf("binary:     %s\n",
                    describe_guard(plan.identity.userns, plan.policy.caps).c_str());
        if (plan.policy.limits.cgroup())
            std::fputs(format_cgroup(locate_cgroup(plan.policy.limits, scan_cgroup_host())).c_str(),
                       stdout);
        return 0;
    }
    // Nothing inside may come to write the kakuri binary (sealed.hpp).
    plan.process.exec_trampoline = guard_run(plan.identity.userns, plan.policy.caps);
    if (opts.verbosity > 0) std::fputs(format_plan(plan).c_str(), stderr);
    std::fflush(stdout);
    RunResult result = run_container(plan);
    change_sets.finish(say, opts.verbosity < 0);
    // Nothing is left to let go of but memory (change sets finished, the container's cgroup
    // and terminal handled in run_container).
    exit_now(result.status_or_throw());
}

}  // namespace

int main(int argc, char* argv[]) {
    remember_argv(argv);
    try {
        return run(argc, argv);
    } catch (const Error& e) {
        say(e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        say(e.what());
        return 125;
    }
}
