// userns: writes the id maps (own, as real root, through newuidmap/newgidmap) and runs a
// function in a namespace so mapped; explains refused user namespaces.
#include "userns.hpp"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys.hpp"

extern char** environ;

namespace kakuri {

namespace {

// kakuri's stderr-capturing run of one helper; its first line of complaint on failure.
void run_helper(const std::vector<std::string>& argv) {
    int fds[2];
    check(pipe2(fds, O_CLOEXEC), "create a pipe");
    UniqueFd r(fds[0]), w(fds[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, w.get(), STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // kakuri blocks the signals it forwards; the helper starts with none blocked.
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw Error("run " + argv[0], rc);
    w.reset();

    std::string err;
    char buf[512];
    for (;;) {
        ssize_t n = ::read(r.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (err.size() < 4096) err.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw Error("wait for " + argv[0], errno);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    std::string line = err.substr(0, err.find('\n'));
    if (line.empty())
        line = argv[0] + (WIFEXITED(status)
                              ? " exited with status " + std::to_string(WEXITSTATUS(status))
                              : " died of signal " + std::to_string(WTERMSIG(status)));
    throw Error("map the subordinate ids: " + line);
}

}  // namespace

void write_own_maps(const std::vector<IdMapLine>& uid_map, const std::vector<IdMapLine>& gid_map) {
    try {
        write_file("/proc/self/setgroups", "deny");
        write_file("/proc/self/uid_map", format_id_map(uid_map));
        write_file("/proc/self/gid_map", format_id_map(gid_map));
    } catch (const Error& e) {
        throw e.wrap("set up the user namespace: ", userns_hint());
    }
}

namespace {

void write_maps(pid_t child, MapWriter writer, const std::vector<IdMapLine>& uid_map,
                const std::vector<IdMapLine>& gid_map, const std::string& newuidmap,
                const std::string& newgidmap) {
    if (writer == MapWriter::Helpers) {
        // newgidmap leaves setgroups allowed when the map holds a subordinate range.
        run_helper(map_helper_argv(newuidmap, child, uid_map));
        run_helper(map_helper_argv(newgidmap, child, gid_map));
        return;
    }
    // Real root holds CAP_SETUID and CAP_SETGID over the new namespace: any map, any number of
    // lines, and setgroups stays allowed (become() needs it to drop root's groups).
    const std::string proc = "/proc/" + std::to_string(child);
    try {
        write_file(proc + "/uid_map", format_id_map(uid_map));
        write_file(proc + "/gid_map", format_id_map(gid_map));
    } catch (const Error& e) {
        throw e.wrap("set up the user namespace: ");
    }
}

}  // namespace

void write_child_maps(Child& child, MapWriter writer, const std::vector<IdMapLine>& uid_map,
                      const std::vector<IdMapLine>& gid_map, const std::string& newuidmap,
                      const std::string& newgidmap) {
    try {
        write_maps(child.pid(), writer, uid_map, gid_map, newuidmap, newgidmap);
    } catch (...) {
        child.kill_and_reap();
        throw;
    }
}

void run_in_userns(MapWriter writer, const std::vector<IdMapLine>& uid_map,
                   const std::vector<IdMapLine>& gid_map, const std::string& newuidmap,
                   const std::string& newgidmap, const std::string& what,
                   const std::function<void()>& fn) {
    Pipe up = make_pipe(), down = make_pipe(), err = make_pipe();
    Child child = Child::spawn(0, "fork", [&] {
        // kakuri's ends are not the child's: fn gets the fds it would have had.
        up.r.reset();
        down.w.reset();
        err.r.reset();
        try {
            check(unshare(CLONE_NEWUSER), "create a user namespace");
            if (writer == MapWriter::Self) {
                // One id of the caller's own: the child writes it, and is root there at once.
                write_own_maps(uid_map, gid_map);
            } else {
                check(::write(up.w.get(), "1", 1), "signal kakuri");
                await_word(down.r.get(), "wait for the id maps");
                become(0, 0);
            }
            fn();
        } catch (const Error& e) {
            fail_child(err.w.get(), e);
        } catch (const std::exception& e) {
            fail_child(err.w.get(), Error(e.what()));
        }
        _exit(0);
    });
    up.w.reset();
    down.r.reset();
    err.w.reset();
    ChildReport report;
    char c;
    if (writer == MapWriter::Self) {
        up.r.reset();
    } else if (::read(up.r.get(), &c, 1) != 1) {
        child.wait();
        report.read_to_end(err.r.get());
        std::optional<Error> e = report.error();
        throw Error::told(what + ": cannot create a user namespace", e ? e->err() : 0, 125);
    }
    if (writer != MapWriter::Self) {
        write_child_maps(child, writer, uid_map, gid_map, newuidmap, newgidmap);
        check(::write(down.w.get(), "1", 1), "signal the child in its user namespace");
    }
    int status = child.wait();
    report.read_to_end(err.r.get());
    if (status == 0) return;
    if (std::optional<Error> e = report.error()) throw *e;
    throw Error(what + " failed");
}

void become(uint32_t uid, uint32_t gid) {
    check(setresgid(gid, gid, gid), "take the container's gid " + std::to_string(gid));
    // The caller's groups (host root's gid 0 among them) must not come along.
    check(setgroups(0, nullptr), "drop the supplementary groups");
    check(setresuid(uid, uid, uid), "take the container's uid " + std::to_string(uid));
}

std::string userns_hint() {
    std::string v;
    auto value_is = [&](const char* path, const char* want) {
        return read_file(path, v) && v.compare(0, 1, want) == 0;
    };
    if (value_is("/proc/sys/kernel/unprivileged_userns_clone", "0"))
        return " (unprivileged user namespaces are disabled: sudo sysctl -w "
               "kernel.unprivileged_userns_clone=1)";
    if (value_is("/proc/sys/user/max_user_namespaces", "0"))
        return " (user namespaces are disabled: sudo sysctl -w user.max_user_namespaces=15000)";
    if (value_is("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"))
        return " (AppArmor restricts unprivileged user namespaces: install an AppArmor profile "
               "for kakuri, or sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)";
    return "";
}

}  // namespace kakuri
