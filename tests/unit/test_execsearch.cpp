// execsearch: the search both exec paths share, with an execve of the test's own that fails as
// a table says and records what it was asked.
#include <doctest/doctest.h>
#include <errno.h>

#include <map>
#include <string>
#include <vector>

#include "execsearch.hpp"

namespace kakuri {

namespace {

std::map<std::string, int> g_fails;  // path -> the errno its execve fails with
std::vector<std::string> g_calls;    // each execve: path, then its argv joined by spaces

long fake_exec(const char* path, char** args, char**) {
    std::string call = path;
    for (char** a = args; *a; ++a) call += std::string(" ") + *a;
    g_calls.push_back(call);
    auto f = g_fails.find(path);
    return -(f == g_fails.end() ? ENOENT : f->second);
}

struct Search {
    std::vector<std::string> candidates;
    bool slash = false;
    exec_failure run() {
        g_calls.clear();
        std::vector<char*> paths;
        for (auto& c : candidates) paths.push_back(c.data());
        std::vector<std::string> words = {"", "cmd", "arg"};
        std::vector<char*> argv;
        for (auto& w : words) argv.push_back(w.data());
        argv.push_back(nullptr);
        char* envp[] = {nullptr};
        exec_failure f = exec_search(fake_exec, slash, paths.data(),
                                     static_cast<long>(paths.size()), argv.data() + 1, envp);
        // The slot before the argv and the argv itself are as they were.
        CHECK(std::string(argv[0]).empty());
        CHECK(std::string(argv[1]) == "cmd");
        return f;
    }
};

}  // namespace

TEST_CASE("execsearch: missing candidates lead on; none at all is 'command not found', 127") {
    g_fails = {};
    Search s{{"/a/cmd", "/b/cmd"}};
    exec_failure f = s.run();
    CHECK(f.status == 127);
    CHECK(f.err == 0);
    CHECK(std::string(f.what) == ": command not found");
    CHECK(g_calls == std::vector<std::string>{"/a/cmd cmd arg", "/b/cmd cmd arg"});
    s.candidates = {};
    CHECK(s.run().status == 127);
}

TEST_CASE("execsearch: one denied is remembered while the search goes on, as execvp's") {
    g_fails = {{"/a/cmd", EACCES}};
    exec_failure f = Search{{"/a/cmd", "/b/cmd"}}.run();
    CHECK(g_calls.size() == 2);
    CHECK(f.status == 126);
    CHECK(f.err == EACCES);
    CHECK(std::string(f.what) == ": cannot execute");
    // ENOTDIR, ELOOP, ENAMETOOLONG lead on too; anything else ends the search.
    g_fails = {{"/a/cmd", ENOTDIR}, {"/b/cmd", ELOOP}, {"/c/cmd", ETXTBSY}, {"/d/cmd", 0}};
    f = Search{{"/a/cmd", "/b/cmd", "/c/cmd", "/d/cmd"}}.run();
    CHECK(g_calls.size() == 3);
    CHECK(f.status == 126);
    CHECK(f.err == ETXTBSY);
}

TEST_CASE("execsearch: a name with a slash is tried alone: missing is 127, else 126") {
    g_fails = {};
    exec_failure f = Search{{"./cmd"}, true}.run();
    CHECK(f.status == 127);
    CHECK(f.err == 0);
    CHECK(std::string(f.what) == ": no such file or directory");
    g_fails = {{"./cmd", EACCES}};
    f = Search{{"./cmd"}, true}.run();
    CHECK(f.status == 126);
    CHECK(f.err == EACCES);
}

TEST_CASE("execsearch: a file the kernel cannot run as a program is a script for /bin/sh") {
    g_fails = {{"/a/cmd", ENOEXEC}, {"/bin/sh", ENOENT}};
    exec_failure f = Search{{"/a/cmd", "/b/cmd"}}.run();
    // sh gets the script's path where the command's name was, then its arguments; the failed
    // try tells ENOEXEC, which ends the search.
    CHECK(g_calls == std::vector<std::string>{"/a/cmd cmd arg", "/bin/sh sh /a/cmd arg"});
    CHECK(f.status == 126);
    CHECK(f.err == ENOEXEC);
}

}  // namespace kakuri
