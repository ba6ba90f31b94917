// Unit tests for store: names, record and state formats, list output, and the
// store's atomic create/remove on a scratch directory.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "store.hpp"

using namespace kakuri;

namespace {

struct Scratch {
    std::string dir;
    Scratch() {
        char t[] = "/tmp/kakuri-store-test-XXXXXX";
        REQUIRE(mkdtemp(t));
        dir = t;
    }
    ~Scratch() {
        UniqueFd d(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        remove_tree_at(d.get(), dir.substr(5));
    }
};

Record rec(const std::string& name) {
    Record r;
    r.name = name;
    r.created = 1700000000;
    r.args = {"--allow-network", "--bind", "/a:/b:ro"};
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
    CHECK(back.args == r.args);
    CHECK(back.network == "host");
    CHECK(back.root == "host");
    CHECK(back.cwd == "/home/u");
    CHECK(format_record(r).rfind("kakuri-container 1\n", 0) == 0);
    CHECK_THROWS_AS(parse_record("kakuri-container 2\nname x\n"), Error);
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
    for (int i = 0; i < Namespaces::kCount; ++i) s.ns.ino[i] = 4026531840 + i;
    State b = parse_state(format_state(s));
    CHECK(b.ns == s.ns);
    CHECK(b.pid == 4242);
    CHECK(b.start_time == 123456789);
    CHECK(b.pidns == 4026531836);
    CHECK(b.userns);
    CHECK(b.started);
    CHECK_THROWS_AS(parse_state("kakuri-state 9\n"), Error);
    // A state written by 0.1 knows the PID namespace only.
    State old = parse_state("kakuri-state 1\npid 7\nstart_time 9\npidns 4026531836\nuserns 1\nstarted 1\n");
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
    std::vector<ListEntry> e = {{"web", Status::Running, "host", "host", 0},
                                {"b\"x", Status::Created, "none", "/srv/root", 1700000000}};
    std::string t = format_list_table(e);
    CHECK(t.rfind("NAME  STATUS   NETWORK  ROOT       CREATED\n", 0) == 0);
    CHECK(t.find("web   running  host     host       1970-01-01T00:00:00Z\n") != std::string::npos);
    std::string j = format_list_json(e);
    CHECK(j.find("{\"name\": \"web\", \"status\": \"running\", \"network\": \"host\", \"root\": "
                 "\"host\", \"created\": \"1970-01-01T00:00:00Z\"}") != std::string::npos);
    CHECK(j.find("\"b\\\"x\"") != std::string::npos);
    CHECK(format_list_json({}) == "[]\n");
}

TEST_CASE("store: create, read back, refuse a second, remove everything") {
    Scratch s;
    Store st(s.dir + "/containers");
    st.create(rec("box"), {"home", "upper/usr", "upper/etc"});
    CHECK(st.exists("box"));
    CHECK(st.names() == std::vector<std::string>{"box"});
    CHECK(st.record("box").args == rec("box").args);
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
    Scratch s;
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
    Scratch s;
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
