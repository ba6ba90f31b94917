// Unit tests for store: names, record and state formats, list output, and the
// store's atomic create/remove on a scratch directory.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "scratch.hpp"
#include "store.hpp"
#include "supervise.hpp"
#include "trust.hpp"

using namespace kakuri;

namespace {

Record rec(const std::string& name) {
    Record r;
    r.name = name;
    r.created = 1700000000;
    r.spec = {{"share_net", "1"}, {"bind", "ro /a /b"}, {"hostname", "box"}};
    r.network = "host";
    r.cwd = "/home/u";
    return r;
}

}  // namespace

TEST_CASE("store: container names") {
    for (std::string good : {"a", "A1", "web-1", "my_box.2", "0"})
        CHECK_MESSAGE(valid_container_name(good), good);
    CHECK(valid_container_name(std::string(64, 'x')));
    for (std::string bad : {"", "-a", ".a", "_a", "a/b", "..", ".", "a b", "a:b", "ä"})
        CHECK_MESSAGE(!valid_container_name(bad), bad);
    CHECK_FALSE(valid_container_name(std::string(65, 'x')));
    CHECK_THROWS_AS(check_container_name("../x"), Error);
}

TEST_CASE("store: record round trip and version") {
    Record r = rec("box");
    Record back = parse_record(format_record(r));
    CHECK(back.name == "box");
    CHECK(back.created == 1700000000);
    CHECK(back.spec == r.spec);
    CHECK(back.network == "host");
    CHECK(back.root == "host");
    CHECK(back.cwd == "/home/u");
    CHECK(format_record(r).rfind("kakuri-container 2\n", 0) == 0);
    CHECK_THROWS_WITH_AS(parse_record("kakuri-container 3\nname x\n"),
                         "container record version 3 is newer than this kakuri (upgrade kakuri "
                         "to use this container)",
                         Error);
    // kakuri 0.1's records: the run options as typed, read for conversion.
    Record old = parse_record(
        "kakuri-container 1\nname box\ncreated 5\nnetwork none\nroot host\n"
        "cwd /w\narg --allow-network\narg --bind\narg /a:/b\n");
    CHECK(old.version == 1);
    CHECK(old.args == std::vector<std::string>{"--allow-network", "--bind", "/a:/b"});
    CHECK(old.spec.empty());
    CHECK_THROWS_AS(parse_record("something else\n"), Error);
    CHECK_THROWS_AS(parse_record("kakuri-container 1\nbogus 1\n"), Error);
    r.args.push_back("a\nb");
    CHECK_THROWS_AS(format_record(r), Error);
}

TEST_CASE("store: state round trip") {
    State s;
    s.pid = 4242;
    s.start_time = 123456789;
    s.pidns = 4026531836;
    s.userns = true;
    s.started = true;
    s.started_at = 1700000000;
    for (int i = 0; i < Namespaces::kCount; ++i) s.ns.ino[i] = 4026531840 + i;
    State b = parse_state(format_state(s));
    CHECK(b.started_at == 1700000000);
    CHECK(b.ns == s.ns);
    CHECK(b.pid == 4242);
    CHECK(b.start_time == 123456789);
    CHECK(b.pidns == 4026531836);
    CHECK(b.userns);
    CHECK(b.started);
    CHECK_THROWS_AS(parse_state("kakuri-state 9\n"), Error);
    // A state written by 0.1 knows the PID namespace only.
    State old =
        parse_state("kakuri-state 1\npid 7\nstart_time 9\npidns 4026531836\nuserns 1\nstarted 1\n");
    CHECK(old.pidns == 4026531836);
    CHECK(old.ns == Namespaces{});
}

TEST_CASE("store: liveness needs the same start time") {
    State s;
    s.pid = getpid();
    s.start_time = process_start_time(getpid());
    CHECK(s.start_time != 0);
    CHECK(state_is_live(s));
    s.start_time += 1;  // the same pid, another process
    CHECK_FALSE(state_is_live(s));
    s.pid = 0;
    CHECK_FALSE(state_is_live(s));
}

TEST_CASE("store: list table and json") {
    const int64_t now = 1700000000 + 3 * 60 + 5;
    std::vector<ListEntry> e = {
        {"web", Status::Running, "host", "host", 0, 1700000000, {}},
        {"b\"x", Status::Created, "none", "/srv/root", 1700000000, 0, {}},
        {"done", Status::Stopped, "none", "host", 0, 1700000000, {3, 1700000000}},
        {"gone", Status::Stopped, "none", "host", 0, 1700000000, {}}};
    std::string t = format_list_table(e, now);
    CHECK(t.rfind("NAME  STATUS                    NETWORK  ROOT       CREATED\n", 0) == 0);
    CHECK(t.find("web   running                   host     host       1970-01-01T00:00:00Z\n") !=
          std::string::npos);
    // How a stopped container ended, as `podman ps -a` says it; "stopped" when not known.
    CHECK(t.find("\ndone  exited (3) 3 minutes ago  none") != std::string::npos);
    CHECK(t.find("\ngone  stopped ") != std::string::npos);
    std::string j = format_list_json(e);
    CHECK(j.find("{\"name\": \"web\", \"status\": \"running\", \"network\": \"host\", \"root\": "
                 "\"host\", \"created\": \"1970-01-01T00:00:00Z\", \"started\": "
                 "\"2023-11-14T22:13:20Z\", \"exit_code\": null, \"finished\": null}") !=
          std::string::npos);
    CHECK(j.find("\"name\": \"done\", \"status\": \"stopped\"") != std::string::npos);
    CHECK(j.find("\"exit_code\": 3, \"finished\": \"2023-11-14T22:13:20Z\"}") != std::string::npos);
    CHECK(j.find("\"b\\\"x\"") != std::string::npos);
    CHECK(format_list_json({}) == "[]\n");
}

TEST_CASE("store: time ago") {
    CHECK(time_ago(100, 100) == "0 seconds ago");
    CHECK(time_ago(100, 101) == "1 second ago");
    CHECK(time_ago(100, 159) == "59 seconds ago");
    CHECK(time_ago(100, 160) == "1 minute ago");
    CHECK(time_ago(0, 3 * 3600 + 59) == "3 hours ago");
    CHECK(time_ago(0, 2 * 86400) == "2 days ago");
    CHECK(time_ago(0, 15 * 86400) == "2 weeks ago");
    CHECK(time_ago(0, 400 * 86400) == "1 year ago");
    CHECK(time_ago(200, 100) == "0 seconds ago");  // a clock set back
}

TEST_CASE("store: exit record round trip; anything else from inside is no record") {
    ExitRecord e{137, 1700000000}, b;
    REQUIRE(parse_exit(format_exit(e), b));
    CHECK((b.status == 137 && b.finished == 1700000000));
    for (const char* junk :
         {"", "kakuri-exit 1\n", "kakuri-exit 1\nstatus 3\n",
          "kakuri-exit 2\nstatus 3\nfinished 1\n", "status 3\nfinished 1\n",
          "kakuri-exit 1\nstatus 300\nfinished 1\n", "kakuri-exit 1\nstatus x\nfinished 1\n",
          "kakuri-exit 1\nstatus -1\nfinished 1\n"}) {
        ExitRecord out;
        CHECK_FALSE(parse_exit(junk, out));
        CHECK(out.status == -1);
    }
}

TEST_CASE("store: create, read back, refuse a second, remove everything") {
    Scratch s("store");
    Store st(s.dir + "/containers");
    st.create(rec("box"), {"home", "upper/usr", "upper/etc"});
    CHECK(st.exists("box"));
    CHECK(st.names() == std::vector<std::string>{"box"});
    CHECK(st.record("box").spec == rec("box").spec);
    CHECK(st.status("box") == Status::Created);
    CHECK_THROWS_WITH_AS(st.create(rec("box"), {}), "container 'box' already exists", Error);
    // A program inside left an unreadable directory and a link out.
    std::string home = st.path("box") + "/home";
    REQUIRE(mkdir((home + "/locked").c_str(), 0700) == 0);
    REQUIRE(symlink(s.dir.c_str(), (home + "/out").c_str()) == 0);
    REQUIRE(chmod((home + "/locked").c_str(), 0) == 0);
    st.remove("box");
    CHECK_FALSE(st.exists("box"));
    CHECK(st.names().empty());
    struct stat sb;
    CHECK(stat(s.dir.c_str(), &sb) == 0);  // the link's target survived
    CHECK_THROWS_AS(st.remove("box"), Error);
}

TEST_CASE("store: eight creates of one name, one wins") {
    Scratch s("store");
    Store st(s.dir + "/c");
    int wins = 0;
    std::vector<pid_t> kids;
    for (int i = 0; i < 8; ++i) {
        pid_t p = fork();
        REQUIRE(p >= 0);
        if (p == 0) {
            try {
                st.create(rec("same"), {"home"});
                _exit(0);
            } catch (const Error&) {
                _exit(1);
            }
        }
        kids.push_back(p);
    }
    for (pid_t p : kids) {
        int status = 0;
        waitpid(p, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++wins;
    }
    CHECK(wins == 1);
    CHECK(st.names() == std::vector<std::string>{"same"});
}

TEST_CASE("store: state written atomically, status follows liveness") {
    Scratch s("store");
    Store st(s.dir + "/c");
    st.create(rec("x"), {});
    State live;
    live.pid = getpid();
    live.start_time = process_start_time(getpid());
    live.started = true;
    st.write_state("x", live);
    CHECK(st.status("x") == Status::Running);
    live.start_time += 7;
    st.write_state("x", live);
    CHECK(st.status("x") == Status::Stopped);
}

namespace {

// A chain of n directories "d" below dir, with a file and a link out every 10 levels and, every
// 300, a directory made unreadable; made through fds, as a program inside can (no path is that
// short).
void deep_tree(const std::string& dir, int n, const std::string& link_target) {
    UniqueFd cur(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(cur);
    std::vector<UniqueFd> locked;
    for (int i = 0; i < n; ++i) {
        REQUIRE(mkdirat(cur.get(), "d", 0755) == 0);
        if (i % 10 == 0) {
            UniqueFd f(::openat(cur.get(), "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
            REQUIRE(symlinkat(link_target.c_str(), cur.get(), "out") == 0);
        }
        UniqueFd next(::openat(cur.get(), "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(next);
        if (i % 300 == 0) locked.push_back(UniqueFd(dup(next.get())));
        cur = std::move(next);
    }
    for (auto& l : locked) REQUIRE(fchmod(l.get(), 0) == 0);
}

}  // namespace

TEST_CASE("store: remove_tree_at takes any depth with a few fds, following nothing") {
    Scratch s("store");
    std::string keep = s.dir + "/keep";
    REQUIRE(mkdir(keep.c_str(), 0755) == 0);
    UniqueFd(::open((keep + "/k").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    std::string tree = s.dir + "/tree";
    REQUIRE(mkdir(tree.c_str(), 0755) == 0);
    // Far deeper than the fds it may hold (the integration test goes to 5000 levels).
    deep_tree(tree, 1200, keep);
    // A wide level too: subdirectories and files side by side.
    for (int i = 0; i < 300; ++i) {
        REQUIRE(mkdir((tree + "/w" + std::to_string(i)).c_str(), 0700) == 0);
        UniqueFd(
            ::open((tree + "/f" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0));
    }
    pid_t p = fork();
    REQUIRE(p >= 0);
    if (p == 0) {
        struct rlimit few = {16, 16};
        if (setrlimit(RLIMIT_NOFILE, &few) != 0) _exit(2);
        try {
            UniqueFd d(::open(s.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            remove_tree_at(d.get(), "tree");
        } catch (const Error& e) {
            fprintf(stderr, "%s\n", e.what());
            _exit(1);
        }
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(p, &status, 0) == p);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    struct stat st;
    CHECK(lstat(tree.c_str(), &st) != 0);
    CHECK(lstat((keep + "/k").c_str(), &st) == 0);  // every link's target survived
}

TEST_CASE("store: leftovers of dead creates and removes, never a live one's") {
    Scratch s("store");
    Store st(s.dir + "/c");
    st.create(rec("box"), {"home"});
    // A process that was, and is no more.
    int gate[2];
    REQUIRE(pipe2(gate, O_CLOEXEC) == 0);
    pid_t dead = fork();
    REQUIRE(dead >= 0);
    if (dead == 0) {
        char c;
        ssize_t n = read(gate[0], &c, 1);
        _exit(n == 1 ? 0 : 1);
    }
    close(gate[0]);
    std::string tag = std::to_string(dead) + "-" + std::to_string(process_start_time(dead));
    REQUIRE(write(gate[1], "x", 1) == 1);
    close(gate[1]);
    REQUIRE(waitpid(dead, nullptr, 0) == dead);
    std::string live =
        std::to_string(getpid()) + "-" + std::to_string(process_start_time(getpid()));

    auto plant = [&](const std::string& name) {
        std::string p = st.path(name);
        REQUIRE(mkdir(p.c_str(), 0700) == 0);
        REQUIRE(mkdir((p + "/locked").c_str(), 0700) == 0);
        REQUIRE(chmod((p + "/locked").c_str(), 0) == 0);
        return p;
    };
    plant(".new-" + tag + "-a");
    plant(".trash-" + tag + "-b");
    plant(".trash-c-12345");  // an older kakuri's name: no known maker
    plant(".new-" + live + "-d");
    std::string held = plant(".new-" + tag + "-e");
    UniqueFd holder(::open(held.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(flock(holder.get(), LOCK_EX) == 0);  // its maker is at work (another PID namespace)

    std::vector<std::string> found;
    for (auto& t : st.leftovers()) {
        found.push_back(t.name);
        remove_tree_at(st.fd(), t.name);
    }
    std::sort(found.begin(), found.end());
    CHECK(found ==
          std::vector<std::string>{".new-" + tag + "-a", ".trash-" + tag + "-b", ".trash-c-12345"});
    struct stat sb;
    CHECK(lstat(st.path(".new-" + live + "-d").c_str(), &sb) == 0);
    CHECK(lstat(held.c_str(), &sb) == 0);
    CHECK(lstat(st.path(".new-" + tag + "-a").c_str(), &sb) != 0);
    CHECK(st.names() == std::vector<std::string>{"box"});
    // A removal's trash is locked by its remover from before it has its name.
    Store::Taken t = st.take("box");
    CHECK(t.name.rfind(".trash-" + live + "-box", 0) == 0);
    CHECK(st.leftovers().empty() == true);
    remove_tree_at(st.fd(), t.name);
    CHECK(st.names().empty());
}

TEST_CASE("store: a container that is not to be trusted is refused, never followed") {
    Scratch s("store");
    Store st(s.dir + "/c");
    st.create(rec("box"), {"home"});
    Store other(s.dir + "/other");
    other.create(rec("real"), {"home"});
    // A link where a container's directory should be.
    REQUIRE(symlink(other.path("real").c_str(), st.path("evil").c_str()) == 0);
    CHECK_THROWS_AS(st.record("evil"), Refusal);
    CHECK_THROWS_AS(st.lock("evil"), Refusal);
    CHECK_THROWS_AS(st.remove("evil"), Refusal);
    CHECK_THROWS_AS(st.names(), Refusal);
    CHECK(other.exists("real"));
    REQUIRE(unlink(st.path("evil").c_str()) == 0);
    // A directory or record anyone may write.
    REQUIRE(chmod(st.path("box").c_str(), 0777) == 0);
    CHECK_THROWS_WITH_AS(
        st.record("box"),
        ("refusing " + st.path("box") + ": writable by its group and others (mode 0777)").c_str(),
        Refusal);
    CHECK_THROWS_AS(st.state("box"), Refusal);
    REQUIRE(chmod(st.path("box").c_str(), 0700) == 0);
    REQUIRE(chmod((st.path("box") + "/container").c_str(), 0666) == 0);
    CHECK_THROWS_AS(st.record("box"), Refusal);
    REQUIRE(chmod((st.path("box") + "/container").c_str(), 0600) == 0);
    CHECK(st.record("box").name == "box");
    // Where the store itself is open to all.
    REQUIRE(chmod(st.dir().c_str(), 01777) == 0);
    CHECK_THROWS_AS(Store(st.dir()), Refusal);
    REQUIRE(chmod(st.dir().c_str(), 0700) == 0);
    if (getuid() != 0) return;
    REQUIRE(chown(st.path("box").c_str(), 4321, 4321) == 0);
    CHECK_THROWS_WITH_AS(
        st.lock("box"),
        ("refusing " + st.path("box") + ": owned by uid 4321, not by you or root").c_str(),
        Refusal);
    REQUIRE(chown(st.path("box").c_str(), 0, 0) == 0);
}

TEST_CASE("store: inspect's fields of a 0.1 record never show an environment value") {
    Record r = rec("box");
    r.version = 1;
    r.args = {"-e",        "FOO=bar",   "--env=X=secret1", "--en=Y=secret2", "-eZ=secret3",
              "-ve",       "W=secret4", "--env",           "V=secret5",      "-e",
              "NAME_ONLY", "--env=N",   "--bind=/a=b:/c",  "--hostname",     "h",
              "-w",        "/x",        "--user"};
    Fields f = record_fields(r);
    std::string text = format_fields_text(f), json = format_fields_json(f);
    for (const char* v : {"bar", "secret1", "secret2", "secret3", "secret4", "secret5"}) {
        CHECK_MESSAGE(text.find(v) == std::string::npos, text);
        CHECK_MESSAGE(json.find(v) == std::string::npos, json);
    }
    CHECK(text.find("\noptions: -e FOO=... --env=X=... --en=Y=... -eZ=... -ve W=... --env V=... -e "
                    "NAME_ONLY --env=N --bind=/a=b:/c --hostname h -w /x --user\n") !=
          std::string::npos);
    CHECK(text.rfind("name: box\ncreated: 2023-11-14T22:13:20Z\nnetwork: host\n", 0) == 0);
    CHECK(json.find("\"options\": \"-e FOO=... --env=X=...") != std::string::npos);
}

TEST_CASE("store: inspect's fields of a record: what create decided, never an environment value") {
    Record r = rec("box");
    r.args.clear();
    r.spec = {
        {"userns", "1"},           {"uid_map", "0 1000 1"},          {"uid", "0"},
        {"hostname", "box"},       {"system", "/usr overlay %"},     {"bind", "rw /my%20src /src"},
        {"env", "EDITOR=vi%20-x"}, {"env_set", "PLAIN=plain-value"}, {"env_set", "MY_API_KEY"},
        {"env_keep", "AWS_*"}};
    Fields f = record_fields(r);
    std::string text = format_fields_text(f), json = format_fields_json(f);
    CHECK(text.find("value") == std::string::npos);
    CHECK(text.find("vi") == std::string::npos);
    CHECK(text.find(
              "\nuserns: 1\nuid_map: 0 1000 1\nuid: 0\nhostname: box\nsystem: /usr overlay\n"
              "bind: rw /my src /src\nenv: EDITOR=...\nenv_set: PLAIN=...\nenv_set: MY_API_KEY\n"
              "env_keep: AWS_*\n") != std::string::npos);
    CHECK(json.find("\"uid_map\": [\"0 1000 1\"]") != std::string::npos);
    CHECK(json.find("\"env_set\": [\"PLAIN=...\", \"MY_API_KEY\"]") != std::string::npos);
    CHECK(json.find("\"hostname\": \"box\"") != std::string::npos);
}

TEST_CASE("store: fields as text and as one JSON object") {
    Fields f = {{"name", "a b"},  {"pid", "42"},     {"exit_status", "3"},
                {"xs[]", "it's"}, {"xs[]", "plain"}, {"odd", "tab\there"}};
    CHECK(format_fields_text(f) ==
          "name: a b\npid: 42\nexit_status: 3\nxs: it's\nxs: plain\nodd: 'tab\\there'\n");
    CHECK(format_fields_json(f) ==
          "{\n  \"name\": \"a b\",\n  \"pid\": 42,\n  \"exit_status\": 3,\n  \"xs\": [\"it's\", "
          "\"plain\"],\n  \"odd\": \"tab\\u0009here\"\n}\n");
}

TEST_CASE("store: a run's files are made private, checked, and the exit record read back") {
    Scratch s("store");
    Store st(s.dir + "/containers");
    st.create(rec("box"), {"home"});
    ExitRecord e;
    CHECK_FALSE(st.exit_record("box", e));
    Store::RunFiles f = st.open_run_files("box", true);
    REQUIRE((f.log && f.prev && f.exit));
    struct stat sb;
    REQUIRE(fstat(f.log.get(), &sb) == 0);
    CHECK((sb.st_mode & 07777) == 0600);
    CHECK((fcntl(f.log.get(), F_GETFL) & O_APPEND) != 0);
    // What init writes through its fd; junk written there (from inside) is no record.
    std::string junk = "kakuri-exit 1\nstatus 3\n";
    REQUIRE(::write(f.exit.get(), junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
    CHECK_FALSE(st.exit_record("box", e));
    st.write_exit("box", {3, 1700000000});
    REQUIRE(st.exit_record("box", e));
    CHECK((e.status == 3 && e.finished == 1700000000));
    // Opened again for the next run: the record stays until the run is under way.
    Store::RunFiles again = st.open_run_files("box", false);
    CHECK_FALSE(again.log);
    REQUIRE(st.exit_record("box", e));
    Store::LogFiles l = st.open_log("box");
    CHECK((l.log && l.prev));
    // Changed from inside (through init's fd): logs refuses it; list and inspect see no
    // record; the next run replaces it, never following a link.
    const std::string box = s.dir + "/containers/box/";
    REQUIRE(chmod((box + "log").c_str(), 0666) == 0);
    REQUIRE(chmod((box + "exit").c_str(), 0666) == 0);
    CHECK_THROWS_AS(st.open_log("box"), Refusal);
    CHECK_FALSE(st.exit_record("box", e));
    REQUIRE(unlink((box + "log.1").c_str()) == 0);
    REQUIRE(symlink((box + "container").c_str(), (box + "log.1").c_str()) == 0);
    std::string record;
    REQUIRE(read_file(box + "container", record));
    Store::RunFiles next = st.open_run_files("box", true);
    REQUIRE((next.log && next.prev && next.exit));
    for (const char* f : {"log", "log.1", "exit"}) {
        struct stat fs;
        REQUIRE(lstat((box + f).c_str(), &fs) == 0);
        CHECK_MESSAGE((S_ISREG(fs.st_mode) && (fs.st_mode & 07777) == 0600), f);
    }
    CHECK(::write(next.prev.get(), "x", 1) == 1);
    std::string after;
    REQUIRE(read_file(box + "container", after));
    CHECK(after == record);
    CHECK(st.open_log("box").log);
}
