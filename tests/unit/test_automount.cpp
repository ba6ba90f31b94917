// Unit tests for automount: path detection, mount targets and PATH resolution, against a
// table-driven fake host.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "automount.hpp"

namespace kakuri {

namespace {

// Results are compared joined, so a failure prints the whole list.
std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

// A host file system as a table; adding a path adds its parents as directories. Symlinks are a
// second table, resolved as realpath(3) would, a missing rest kept as written.
struct FakeHost {
    std::map<std::string, PathKind> fs;
    std::map<std::string, std::string> links;  // path -> link text
    std::vector<std::string> hidden = {"/home/u/.local/kakuri/containers"};
    std::string home = "/home/u";
    std::string cwd = "/home/u/work";

    FakeHost() {
        dir(home);
        dir(cwd);
        file("/usr/bin/python3");
        file("/etc/hosts");
        dir("/tmp").dir("/var/tmp").dir("/run").dir("/proc/sys/kernel").dir("/dev");
        file("/proc/sys/kernel/core_pattern");
    }
    void parents(const std::string& p) {
        for (size_t i = p.find('/', 1); i != std::string::npos; i = p.find('/', i + 1))
            fs[p.substr(0, i)] = PathKind::Directory;
    }
    FakeHost& dir(const std::string& p) {
        parents(p);
        fs[p] = PathKind::Directory;
        return *this;
    }
    FakeHost& file(const std::string& p) {
        parents(p);
        fs[p] = PathKind::File;
        return *this;
    }
    FakeHost& link(const std::string& p, const std::string& text) {
        parents(p);
        links[p] = text;
        return *this;
    }
    static void push_parts(std::vector<std::string>& todo, const std::string& p) {
        std::vector<std::string> parts;
        for (size_t i = 0; i <= p.size();) {
            size_t j = p.find('/', i);
            if (j == std::string::npos) j = p.size();
            if (j > i) parts.push_back(p.substr(i, j - i));
            i = j + 1;
        }
        todo.insert(todo.end(), parts.rbegin(), parts.rend());
    }
    std::string resolve(const std::string& p) const {
        std::vector<std::string> todo, done;
        push_parts(todo, p);
        int hops = 0;
        while (!todo.empty()) {
            std::string part = todo.back();
            todo.pop_back();
            if (part == "..") {
                if (!done.empty()) done.pop_back();
                continue;
            }
            if (part == ".") continue;
            done.push_back(part);
            std::string cur;
            for (const auto& d : done) cur += "/" + d;
            auto it = links.find(cur);
            if (it == links.end() || ++hops > 40) continue;
            done.pop_back();
            if (it->second[0] == '/') done.clear();
            push_parts(todo, it->second);
        }
        std::string out;
        for (const auto& d : done) out += "/" + d;
        return out.empty() ? "/" : out;
    }
    static bool system_visible(const std::string& p) {
        if (p == "/var/tmp" || p.compare(0, 9, "/var/tmp/") == 0) return false;
        for (const char* d : {"/usr", "/etc", "/opt", "/var", "/bin", "/lib"}) {
            std::string s = d;
            if (p == s || p.compare(0, s.size() + 1, s + "/") == 0) return true;
        }
        return false;
    }
    HostView view() const {
        HostView h;
        h.home = home;
        h.cwd = cwd;
        h.kind = [this](const std::string& p) {
            auto it = fs.find(resolve(p));
            return it == fs.end() ? PathKind::Missing : it->second;
        };
        h.resolve = [this](const std::string& p) { return resolve(p); };
        h.visible = system_visible;
        h.refused = [this](const std::string& p) -> std::string {
            for (const char* k : {"/proc", "/sys", "/dev"}) {
                std::string s = k;
                if (p == s || p.compare(0, s.size() + 1, s + "/") == 0) return "kernel " + s;
            }
            for (const auto& s : hidden)
                if (p == s || p.compare(0, s.size() + 1, s + "/") == 0) return "state " + s;
            return "";
        };
        h.fresh = {"/tmp", "/var/tmp", "/run"};
        return h;
    }
    std::string detect(const std::vector<std::string>& args) const {
        return joined(detect_paths(args, view()));
    }
    std::string mounts(const std::vector<std::string>& args) const {
        return joined(auto_mounts(args, view()));
    }
    // The links made inside, as "path->target" words.
    std::string links_made(const std::vector<std::string>& args) const {
        std::vector<std::string> out;
        for (const auto& l : plan_auto_mounts(args, view()).links)
            out.push_back(l.path + "->" + l.target);
        return joined(out);
    }
    std::string notes(const std::vector<std::string>& args) const {
        std::string out;
        for (const auto& n : plan_auto_mounts(args, view()).notes) out += n + "\n";
        return out;
    }
};

}  // namespace

// --- everyday command lines ------------------------------------------------------------------

TEST_CASE("automount: absolute script mounts its directory") {
    FakeHost h;
    h.file("/path/to/script.py");
    CHECK(h.detect({"/path/to/script.py"}) == "/path/to/script.py");
    CHECK(h.mounts({"/path/to/script.py"}) == "/path/to");
}

TEST_CASE("automount: ~/project/app.js expands home") {
    FakeHost h;
    h.file("/home/u/project/app.js");
    CHECK(h.detect({"~/project/app.js"}) == "/home/u/project/app.js");
    CHECK(h.mounts({"~/project/app.js"}) == "/home/u/project");
}

TEST_CASE("automount: gcc -o app with two sources in one directory mounts it once") {
    FakeHost h;
    h.file("/home/u/src/main.c").file("/home/u/src/lib.c");
    std::vector<std::string> args = {"-o", "app", "~/src/main.c", "~/src/lib.c"};
    CHECK(h.detect(args) == "/home/u/src/main.c /home/u/src/lib.c");
    CHECK(h.mounts(args) == "/home/u/src");
}

TEST_CASE("automount: vim /etc/hosts does not expose /etc") {
    FakeHost h;
    CHECK(h.detect({"/etc/hosts"}) == "/etc/hosts");
    CHECK(h.mounts({"/etc/hosts"}) == "");
}

TEST_CASE("automount: input file and an output still to be created") {
    FakeHost h;
    h.file("/home/u/data/process.py").dir("/home/u/output");
    std::vector<std::string> args = {"~/data/process.py", "~/output/results.txt"};
    CHECK(h.detect(args) == "/home/u/data/process.py /home/u/output/results.txt");
    CHECK(h.mounts(args) == "/home/u/data /home/u/output");
}

TEST_CASE("automount: URLs are never paths") {
    FakeHost h;
    CHECK(h.detect({"https://example.com/a.txt"}) == "");
    CHECK(h.mounts({"https://example.com/a.txt"}) == "");
    CHECK(h.detect({"file:///home/u/x.txt", "s3://bucket/key.csv", "git+ssh://h/r.git"}) == "");
    CHECK(h.detect({"--url=https://example.com/data.csv"}) == "");
}

TEST_CASE("automount: --output=PATH takes the value") {
    FakeHost h;
    h.dir("/srv/x");
    CHECK(h.detect({"--output=/srv/x/out.csv"}) == "/srv/x/out.csv");
    CHECK(h.mounts({"--output=/srv/x/out.csv"}) == "/srv/x");
}

TEST_CASE("automount: ./file and a bare file.py mount the working directory") {
    FakeHost h;
    h.file("/home/u/work/file").file("/home/u/work/file.py");
    CHECK(h.detect({"./file"}) == "/home/u/work/file");
    CHECK(h.mounts({"./file"}) == "/home/u/work");
    CHECK(h.detect({"file.py"}) == "/home/u/work/file.py");
    CHECK(h.mounts({"file.py"}) == "/home/u/work");
    CHECK(h.mounts({"./file", "file.py"}) == "/home/u/work");
}

TEST_CASE("automount: a file directly in $HOME is mounted alone") {
    FakeHost h;
    h.file("/home/u/notes.txt");
    CHECK(h.mounts({"~/notes.txt"}) == "/home/u/notes.txt");
    CHECK(h.mounts({"/home/u/notes.txt"}) == "/home/u/notes.txt");
}

TEST_CASE("automount: / and ~ are never mounted") {
    FakeHost h;
    CHECK(h.detect({"/"}) == "/");
    CHECK(h.mounts({"/"}) == "");
    CHECK(h.detect({"~"}) == "/home/u");
    CHECK(h.mounts({"~"}) == "");
    CHECK(h.mounts({"~/"}) == "");
    CHECK(h.mounts({"/home/u/"}) == "");
    CHECK(h.mounts({"/usr/.."}) == "");
    CHECK(h.mounts({"--root=/"}) == "");
}

TEST_CASE("automount: nested targets merge into the outer one") {
    FakeHost h;
    h.file("/a/b/c.txt");
    CHECK(h.mounts({"/a/b/c.txt", "/a"}) == "/a");
    CHECK(h.mounts({"/a", "/a/b/c.txt"}) == "/a");
    CHECK(h.mounts({"/a/b", "/a/b/c.txt"}) == "/a/b");
}

// --- detection -------------------------------------------------------------------------------

TEST_CASE("automount: a missing bare word without extension is not a path") {
    FakeHost h;
    CHECK(h.detect({"install", "hello", "app", "origin/main", "HEAD~1"}) == "");
    CHECK(h.mounts({"install", "hello"}) == "");
}

TEST_CASE("automount: an existing bare word is a path whatever its name") {
    FakeHost h;
    h.dir("/home/u/work/build").file("/home/u/work/Makefile").file("/home/u/work/src/x");
    CHECK(h.detect({"build"}) == "/home/u/work/build");
    CHECK(h.mounts({"build"}) == "/home/u/work/build");
    CHECK(h.detect({"Makefile"}) == "/home/u/work/Makefile");
    CHECK(h.mounts({"Makefile"}) == "/home/u/work");
    CHECK(h.detect({"src/x"}) == "/home/u/work/src/x");
    CHECK(h.mounts({"src/x"}) == "/home/u/work/src");
}

TEST_CASE("automount: . and .. are paths") {
    FakeHost h;
    h.dir("/home/u/work/sub");
    CHECK(h.detect({"."}) == "/home/u/work");
    CHECK(h.mounts({"."}) == "/home/u/work");
    CHECK(h.detect({".."}) == "/home/u");
    CHECK(h.mounts({".."}) == "");
    CHECK(h.detect({"./"}) == "/home/u/work");
    CHECK(h.detect({"./sub/"}) == "/home/u/work/sub");
}

TEST_CASE("automount: ./ and ../ words are paths even when missing") {
    FakeHost h;
    h.dir("/home/u/other");
    CHECK(h.detect({"./out"}) == "/home/u/work/out");
    CHECK(h.mounts({"./out"}) == "/home/u/work");
    CHECK(h.detect({"../other/new"}) == "/home/u/other/new");
    CHECK(h.mounts({"../other/new"}) == "/home/u/other");
}

TEST_CASE("automount: relative words are normalized") {
    FakeHost h;
    h.file("/home/u/lib/util.py");
    CHECK(h.detect({"./../lib/./util.py"}) == "/home/u/lib/util.py");
    CHECK(h.detect({"//path//to/../to/x.c"}) == "/path/to/x.c");
    CHECK(h.detect({"../../../../x.c"}) == "/x.c");
}

TEST_CASE("automount: common extensions make a missing bare word a path") {
    FakeHost h;
    for (const char* w :
         {"script.py", "data.csv",  "out.txt",  "main.c",    "lib.h",      "app.js",
          "x.json",    "notes.md",  "a.tar.gz", "photo.JPG", "Report.PDF", "pkg.zip",
          "img.png",   "doc.docx",  "t.yaml",   "x.rs",      "run.sh",     "a.cpp",
          "b.hpp",     "db.sqlite", "log.log",  "page.html"}) {
        CAPTURE(w);
        CHECK(h.detect({w}) == "/home/u/work/" + std::string(w));
        CHECK(h.mounts({w}) == "/home/u/work");
    }
}

TEST_CASE("automount: words that only look dotted are not paths") {
    FakeHost h;
    for (const char* w : {"example.com", "example.org", "kernel.org", "pypi.io", "v1.2",
                          "python3.11", "1.5", "a.", ".hidden", "foo.unknownext"}) {
        CAPTURE(w);
        CHECK(h.detect({w}) == "");
    }
}

TEST_CASE("automount: an existing hidden file is a path") {
    FakeHost h;
    h.file("/home/u/work/.env");
    CHECK(h.detect({".env"}) == "/home/u/work/.env");
    CHECK(h.mounts({".env"}) == "/home/u/work");
}

TEST_CASE("automount: option words are never paths") {
    FakeHost h;
    h.file("/home/u/work/-x");
    CHECK(h.detect({"-x", "--flag", "-o", "--", "-"}) == "");
    CHECK(h.detect({"-v", "--verbose", "-rf"}) == "");
    CHECK(h.detect({"--no-value="}) == "");
}

TEST_CASE("automount: short options with attached values are left alone") {
    FakeHost h;
    h.dir("/tmp/x");
    CHECK(h.detect({"-o=/tmp/x/out.csv"}) == "");
    CHECK(h.detect({"-o/tmp/x/out.csv"}) == "");
    CHECK(h.detect({"-I/tmp/x"}) == "");
}

TEST_CASE("automount: long option values follow the same rules") {
    FakeHost h;
    h.dir("/home/u/cfg").file("/home/u/work/in.dat").dir("/tmp/x");
    CHECK(h.detect({"--config=~/cfg"}) == "/home/u/cfg");
    CHECK(h.mounts({"--config=~/cfg"}) == "/home/u/cfg");
    CHECK(h.detect({"--input=in.dat"}) == "/home/u/work/in.dat");
    CHECK(h.detect({"--input=./x"}) == "/home/u/work/x");
    CHECK(h.detect({"--mode=fast", "--level=3", "--name=hello"}) == "");
    CHECK(h.detect({"--x=a=/tmp/x"}) == "");
    // The same rules, applied to the value, include this one: wrappers pass options on.
    CHECK(h.detect({"--pass=--y=/tmp/x"}) == "/tmp/x");
    CHECK(h.detect({"--pass=-y=/tmp/x", "--pass=--flag"}) == "");
    CHECK(h.detect({"--prefix=/tmp/x"}) == "/tmp/x");
}

TEST_CASE("automount: empty words are skipped") {
    FakeHost h;
    CHECK(h.detect({"", "", "/tmp"}) == "/tmp");
}

TEST_CASE("automount: ~user is not expanded") {
    FakeHost h;
    h.file("/home/other/x.txt");
    CHECK(h.detect({"~other/x.txt"}) == "");
    CHECK(h.detect({"~other"}) == "");
}

TEST_CASE("automount: without a home, ~ words are not paths") {
    FakeHost h;
    h.home = "";
    CHECK(h.detect({"~", "~/x.txt"}) == "");
}

TEST_CASE("automount: detected paths keep order and appear once") {
    FakeHost h;
    h.file("/home/u/work/a.py").file("/srv/b.py");
    CHECK(h.detect({"/srv/b.py", "a.py", "./a.py", "/home/u/work/a.py", "/srv//b.py"}) ==
          "/srv/b.py /home/u/work/a.py");
}

TEST_CASE("automount: the command name is not part of args") {
    // The caller passes args without argv[0]; a plain word like `python3` then never shows up,
    // but had it been passed as a bare missing word it would not be a path anyway.
    FakeHost h;
    CHECK(h.detect({"python3"}) == "");
}

// --- mount targets ---------------------------------------------------------------------------

TEST_CASE("automount: an existing directory is mounted itself") {
    FakeHost h;
    h.dir("/srv/data/set");
    CHECK(h.mounts({"/srv/data/set"}) == "/srv/data/set");
    CHECK(h.mounts({"/srv/data/set/"}) == "/srv/data/set");
}

TEST_CASE("automount: a missing path whose parent is missing gets nothing") {
    FakeHost h;
    CHECK(h.detect({"/nope/deeper/out.txt"}) == "/nope/deeper/out.txt");
    CHECK(h.mounts({"/nope/deeper/out.txt"}) == "");
    CHECK(h.mounts({"nosuchdir/out.txt"}) == "");
}

TEST_CASE("automount: a missing path under a file gets nothing") {
    FakeHost h;
    h.file("/srv/plain");
    CHECK(h.mounts({"/srv/plain/child.txt"}) == "");
}

TEST_CASE("automount: a missing path directly in $HOME or / gets nothing") {
    FakeHost h;
    CHECK(h.mounts({"~/new.txt"}) == "");
    CHECK(h.mounts({"/new.txt"}) == "");
}

TEST_CASE("automount: a file directly in / is mounted alone") {
    FakeHost h;
    h.file("/data.img");
    CHECK(h.mounts({"/data.img"}) == "/data.img");
}

TEST_CASE("automount: a directory directly in $HOME is mounted itself") {
    FakeHost h;
    h.dir("/home/u/proj");
    CHECK(h.mounts({"~/proj"}) == "/home/u/proj");
}

TEST_CASE("automount: anything under a visible directory is not mounted") {
    FakeHost h;
    h.file("/opt/tool/bin/t").dir("/var/log").file("/lib/x.so");
    CHECK(h.mounts({"/usr/bin/python3"}) == "");
    CHECK(h.mounts({"/usr"}) == "");
    CHECK(h.mounts({"/opt/tool/bin/t", "/var/log", "/lib/x.so"}) == "");
    CHECK(h.mounts({"/etc/new.conf"}) == "");
    CHECK(h.mounts({"--config=/etc/hosts"}) == "");
}

TEST_CASE("automount: visibility is asked about the target, so explicit binds count") {
    FakeHost h;
    h.file("/home/u/work/a.py").file("/home/u/notes.txt");
    HostView v = h.view();
    v.visible = [](const std::string& p) {
        return p == "/home/u/work" || p == "/home/u/notes.txt";
    };
    CHECK(joined(auto_mounts({"a.py", "~/notes.txt"}, v)) == "");
}

TEST_CASE("automount: a symlinked name counts as what it points to") {
    // A link to a directory is mounted as that directory, at its own path.
    FakeHost h;
    h.dir("/home/u/data").link("/home/u/work/link", "/home/u/data");
    CHECK(h.mounts({"link"}) == "/home/u/data");
    CHECK(h.links_made({"link"}) == "/home/u/work/link->/home/u/data");
}

TEST_CASE("automount: duplicate targets appear once, in first-named order") {
    FakeHost h;
    h.file("/srv/a/1.txt").file("/srv/a/2.txt").file("/srv/b/3.txt");
    CHECK(h.mounts({"/srv/b/3.txt", "/srv/a/1.txt", "/srv/a/2.txt", "/srv/b"}) == "/srv/b /srv/a");
}

TEST_CASE("automount: merging is by path component, not by string prefix") {
    FakeHost h;
    h.dir("/srv/a").dir("/srv/ab");
    CHECK(h.mounts({"/srv/ab", "/srv/a"}) == "/srv/ab /srv/a");
}

TEST_CASE("automount: a file alone in $HOME merges into a directory that holds it") {
    FakeHost h;
    h.file("/home/u/notes.txt").dir("/home");
    CHECK(h.mounts({"~/notes.txt", "/home"}) == "/home");
}

TEST_CASE("automount: several nested levels keep only the outermost") {
    FakeHost h;
    h.file("/srv/a/b/c/d.txt").dir("/srv/a/x");
    CHECK(h.mounts({"/srv/a/b/c/d.txt", "/srv/a/b", "/srv/a/x", "/srv/a"}) == "/srv/a");
}

TEST_CASE("automount: a working directory that is visible is not mounted") {
    FakeHost h;
    h.cwd = "/usr/src";
    h.file("/usr/src/k.c");
    CHECK(h.detect({"k.c"}) == "/usr/src/k.c");
    CHECK(h.mounts({"k.c"}) == "");
}

TEST_CASE("automount: no args, nothing") {
    FakeHost h;
    CHECK(h.detect({}) == "");
    CHECK(h.mounts({}) == "");
}

TEST_CASE("automount: a realistic mixed command line") {
    FakeHost h;
    h.file("/home/u/work/train.py").dir("/data/imagenet").dir("/home/u/runs");
    std::vector<std::string> args = {
        "-u", "train.py",          "--data=/data/imagenet",     "--epochs",
        "10", "--out=~/runs/exp1", "--url=https://x.org/w.bin", "-v"};
    CHECK(h.detect(args) == "/home/u/work/train.py /data/imagenet /home/u/runs/exp1");
    CHECK(h.mounts(args) == "/home/u/work /data/imagenet /home/u/runs");
}

// --- command resolution ----------------------------------------------------------------------

namespace {

struct FakeBins {
    std::set<std::string> exes = {"/usr/bin/python3",          "/usr/bin/env",
                                  "/home/u/.local/bin/mytool", "/home/u/.cargo/bin/rg",
                                  "/usr/games/cowsay",         "/home/u/work/evil",
                                  "/home/u/.local/bin/python3"};
    std::set<std::string> plain = {"/usr/local/bin/data"};  // exists, not executable
    std::set<std::string> bound;                            // files bound alone
    std::set<std::string> files;                            // other host files (pyvenv.cfg)

    CommandResolution resolve(
        const std::string& name, const std::string& inside = "/usr/local/bin:/usr/bin:/bin",
        const std::string& caller = "/home/u/.cargo/bin:/usr/bin:/usr/games:/home/u/.local/bin") {
        FakeHost host;
        HostView h = host.view();
        h.visible = [this](const std::string& p) {
            return FakeHost::system_visible(p) || bound.count(p) > 0;
        };
        h.kind = [this](const std::string& p) {
            return exes.count(p) || plain.count(p) || files.count(p) ? PathKind::File
                                                                     : PathKind::Missing;
        };
        return resolve_command(name, inside, caller, h,
                               [this](const std::string& p) { return exes.count(p) > 0; });
    }
};

}  // namespace

TEST_CASE("resolve: a command on the container's PATH runs inside, name unchanged") {
    FakeBins b;
    auto r = b.resolve("python3");
    CHECK(r.kind == CommandResolution::Inside);
    CHECK(r.path == "python3");
}

TEST_CASE("resolve: the caller's PATH order decides, as the caller's shell would") {
    // ~/.local/bin/python3 first on the caller's PATH: that one runs, bound in alone; later on
    // it, the system's (README, "Automatic path mounting and PATH resolution").
    FakeBins b;
    auto r = b.resolve("python3", "/usr/bin", "/home/u/.local/bin:/usr/bin");
    CHECK(r.kind == CommandResolution::FromHost);
    CHECK(r.path == "/home/u/.local/bin/python3");
    CHECK(r.bind == "/home/u/.local/bin/python3");
    auto s = b.resolve("python3", "/usr/bin", "/usr/bin:/home/u/.local/bin");
    CHECK(s.kind == CommandResolution::Inside);
    CHECK(s.path == "python3");
    // ~/.cargo/bin/rg before /usr/bin/rg.
    b.exes.insert("/usr/bin/rg");
    auto rg = b.resolve("rg", "/usr/bin", "/home/u/.cargo/bin:/usr/bin");
    CHECK(rg.kind == CommandResolution::FromHost);
    CHECK(rg.path == "/home/u/.cargo/bin/rg");
    CHECK(b.resolve("rg", "/usr/bin", "/usr/bin:/home/u/.cargo/bin").path == "rg");
}

TEST_CASE("resolve: an activated virtual environment's python brings the environment") {
    FakeBins b;
    b.exes.insert("/home/u/proj/.venv/bin/python");
    b.exes.insert("/usr/bin/python");
    b.files.insert("/home/u/proj/.venv/pyvenv.cfg");
    auto r =
        b.resolve("python", "/home/u/proj/.venv/bin:/usr/bin", "/home/u/proj/.venv/bin:/usr/bin");
    CHECK(r.kind == CommandResolution::FromHost);
    CHECK(r.path == "/home/u/proj/.venv/bin/python");
    CHECK(r.bind == "/home/u/proj/.venv");
    // Named with its path, the same.
    auto p = b.resolve("/home/u/proj/.venv/bin/python");
    CHECK(p.kind == CommandResolution::FromHost);
    CHECK(p.bind == "/home/u/proj/.venv");
    // Without pyvenv.cfg it is a plain bin directory.
    b.files.clear();
    CHECK(b.resolve("python", "/usr/bin", "/home/u/proj/.venv/bin:/usr/bin").bind ==
          "/home/u/proj/.venv/bin/python");
}

TEST_CASE("resolve: a virtual environment that is $HOME, /, or in /tmp is not bound whole") {
    FakeBins b;
    b.exes.insert("/home/u/bin/python");
    b.files.insert("/home/u/pyvenv.cfg");
    CHECK(b.resolve("python", "/usr/bin", "/home/u/bin").bind == "/home/u/bin/python");
    CHECK(b.resolve("/home/u/bin/python").bind == "/home/u/bin");  // named: its directory
    b.exes.insert("/tmp/v/bin/python");
    b.files.insert("/tmp/v/pyvenv.cfg");
    CHECK(b.resolve("/tmp/v/bin/python").bind == "/tmp/v/bin/python");
}

TEST_CASE("resolve: a command named with a slash brings its directory") {
    FakeBins b;
    b.exes.insert("/home/u/work/run.sh");
    b.exes.insert("/opt/x/bin/y");
    b.exes.insert("/srv/tools/t");
    auto r = b.resolve("./run.sh");
    CHECK(r.kind == CommandResolution::FromHost);
    CHECK(r.path == "/home/u/work/run.sh");
    CHECK(r.bind == "/home/u/work");
    auto t = b.resolve("/srv/tools/t");
    CHECK(t.kind == CommandResolution::FromHost);
    CHECK(t.bind == "/srv/tools");
    // Visible already (/opt is a system directory here): run as named.
    auto y = b.resolve("/opt/x/bin/y");
    CHECK(y.kind == CommandResolution::Inside);
    CHECK(y.path == "/opt/x/bin/y");
}

TEST_CASE("resolve: a command directly in $HOME, /, /tmp or a refused place goes alone or not") {
    FakeBins b;
    for (const char* f : {"/home/u/tool", "/tool", "/tmp/tool", "/tmp/d/tool", "/proc/self/exe",
                          "/home/u/.local/kakuri/containers/x/tool"})
        b.exes.insert(f);
    CHECK(b.resolve("/home/u/tool").bind == "/home/u/tool");
    CHECK(b.resolve("/tool").bind == "/tool");
    CHECK(b.resolve("/tmp/tool").bind == "/tmp/tool");
    CHECK(b.resolve("/tmp/d/tool").bind == "/tmp/d/tool");
    for (const char* n : {"/proc/self/exe", "/home/u/.local/kakuri/containers/x/tool"}) {
        CAPTURE(n);
        auto r = b.resolve(n);
        CHECK(r.kind == CommandResolution::Inside);
        CHECK(r.bind == "");
    }
}

TEST_CASE("resolve: a command only in ~/.local/bin comes from the host") {
    FakeBins b;
    auto r = b.resolve("mytool");
    CHECK(r.kind == CommandResolution::FromHost);
    CHECK(r.path == "/home/u/.local/bin/mytool");
    auto rg = b.resolve("rg");
    CHECK(rg.kind == CommandResolution::FromHost);
    CHECK(rg.path == "/home/u/.cargo/bin/rg");
}

TEST_CASE("resolve: a command found nowhere is NotFound") {
    FakeBins b;
    auto r = b.resolve("foo");
    CHECK(r.kind == CommandResolution::NotFound);
    CHECK(r.path == "");
}

TEST_CASE("resolve: a non-executable file in a visible dir does not stop the search") {
    FakeBins b;
    b.exes.insert("/bin/data");
    auto r = b.resolve("data");
    CHECK(r.kind == CommandResolution::Inside);
    CHECK(r.path == "data");
    b.exes.erase("/bin/data");
    b.exes.insert("/home/u/.local/bin/data");
    auto h = b.resolve("data");
    CHECK(h.kind == CommandResolution::FromHost);
    CHECK(h.path == "/home/u/.local/bin/data");
}

TEST_CASE("resolve: a container PATH dir that is not visible is not searched as inside") {
    FakeBins b;
    auto r = b.resolve("mytool", "/home/u/.local/bin:/usr/bin");
    CHECK(r.kind == CommandResolution::FromHost);
    CHECK(r.path == "/home/u/.local/bin/mytool");
}

TEST_CASE("resolve: a file bound alone counts as inside") {
    FakeBins b;
    b.bound.insert("/home/u/.local/bin/mytool");
    auto r = b.resolve("mytool", "/home/u/.local/bin:/usr/bin");
    CHECK(r.kind == CommandResolution::Inside);
    CHECK(r.path == "mytool");
}

TEST_CASE("resolve: a visible dir only on the caller's PATH runs by absolute path") {
    FakeBins b;
    b.exes.insert("/opt/games/cowsay");
    b.exes.erase("/usr/games/cowsay");
    auto r = b.resolve("cowsay", "/usr/bin", "/opt/games");
    CHECK(r.kind == CommandResolution::Inside);
    CHECK(r.path == "/opt/games/cowsay");
}

TEST_CASE("resolve: a name with a slash is not looked up") {
    // Visible, missing or not executable: run as named, nothing bound.
    FakeBins b;
    b.exes.erase("/home/u/work/evil");
    for (const char* n :
         {"./evil", "/usr/bin/python3", "bin/x", "/nonexistent/x", "../y", "/usr/local/bin/data"}) {
        CAPTURE(n);
        auto r = b.resolve(n);
        CHECK(r.kind == CommandResolution::Inside);
        CHECK(r.path == n);
        CHECK(r.bind == "");
    }
}

TEST_CASE("resolve: empty and relative caller PATH entries are not searched") {
    // /home/u/work/evil sits in the cwd; "" and "." on the caller's PATH must not pick it up.
    // Every name a careless join could produce for them is made executable.
    FakeBins b;
    for (const char* e :
         {"evil", "./evil", "/evil", "bin/evil", "/bin/evil", "work/evil", "/work/evil"})
        b.exes.insert(e);
    for (const char* caller :
         {"", ":", "::/home/u/.local/bin", ".", "/home/u/.local/bin:", "bin:.:work"}) {
        CAPTURE(caller);
        CHECK(b.resolve("evil", "/usr/bin", caller).kind == CommandResolution::NotFound);
    }
}

TEST_CASE("resolve: empty and relative container PATH entries are skipped too") {
    FakeBins b;
    for (const char* e : {"tool", "./tool", "/tool"}) {
        b.exes.insert(e);
        b.bound.insert(e);
    }
    CHECK(b.resolve("tool", ":.:", "").kind == CommandResolution::NotFound);
    b.exes.insert("/usr/bin/tool");
    CHECK(b.resolve("tool", ":.:/usr/bin", "").kind == CommandResolution::Inside);
    CHECK(b.resolve("mytool", "::.", "/home/u/.local/bin").kind == CommandResolution::FromHost);
}

TEST_CASE("resolve: PATH entries are normalized") {
    FakeBins b;
    auto r = b.resolve("mytool", "/usr/bin", "/home/u//.local/./bin/");
    CHECK(r.kind == CommandResolution::FromHost);
    CHECK(r.path == "/home/u/.local/bin/mytool");
    auto i = b.resolve("python3", "/usr/lib/../bin/", "");
    CHECK(i.kind == CommandResolution::Inside);
    CHECK(i.path == "python3");
}

TEST_CASE("resolve: the first match on the caller's PATH wins") {
    FakeBins b;
    b.exes.insert("/home/u/.cargo/bin/mytool");
    auto r = b.resolve("mytool", "/usr/bin", "/home/u/.cargo/bin:/home/u/.local/bin");
    CHECK(r.path == "/home/u/.cargo/bin/mytool");
}

TEST_CASE("resolve: empty PATHs find nothing") {
    FakeBins b;
    CHECK(b.resolve("python3", "", "").kind == CommandResolution::NotFound);
}

TEST_CASE("resolve: empty, . and .. names are NotFound") {
    FakeBins b;
    b.exes.insert("/usr");  // even a lying executable() cannot turn /usr/bin/.. into a command
    for (const char* n : {"", ".", ".."}) {
        CAPTURE(n);
        CHECK(b.resolve(n).kind == CommandResolution::NotFound);
    }
}

// --- links: every rule applies to what a path resolves to ------------------------------------

TEST_CASE("automount: a link to a kernel file system mounts nothing, and says why") {
    FakeHost h;
    h.link("/home/u/proj/out", "/proc/sys/kernel");
    for (const char* arg : {"~/proj/out/core_pattern", "~/proj/out", "~/proj/out/new.txt"}) {
        CAPTURE(arg);
        CHECK(h.mounts({arg}) == "");
        CHECK(h.links_made({arg}) == "");
    }
    CHECK(h.notes({"~/proj/out/core_pattern"}) ==
          "not mounted: /home/u/proj/out/core_pattern (-> /proc/sys/kernel/core_pattern): "
          "kernel /proc\n");
    h.link("/home/u/proj/dev", "../../../dev").link("/home/u/proj/sys", "/sys/kernel");
    CHECK(h.mounts({"~/proj/dev/x.img", "~/proj/sys", "~/proj/dev"}) == "");
}

TEST_CASE("automount: a link to $HOME or / mounts nothing") {
    FakeHost h;
    h.file("/home/u/secret.txt");
    h.link("/home/u/proj/home", "/home/u")
        .link("/home/u/proj/rel", "..")
        .link("/home/u/proj/root", "/");
    for (const char* arg : {"~/proj/home", "~/proj/home/", "~/proj/home/new.txt", "~/proj/rel",
                            "~/proj/rel/x.txt", "~/proj/root", "~/proj/root/x.txt"}) {
        CAPTURE(arg);
        CHECK(h.mounts({arg}) == "");
    }
    CHECK(h.notes({"~/proj/home"}) ==
          "not mounted: /home/u/proj/home (-> /home/u): / and $HOME are never mounted whole\n");
    // A file named through one goes alone, as when named directly.
    CHECK(h.mounts({"~/proj/home/secret.txt"}) == "/home/u/secret.txt");
}

TEST_CASE("automount: a home reached through a link is still $HOME") {
    FakeHost h;
    h.home = "/home/link-u";
    h.dir("/srv/homes/u/proj").link("/home/link-u", "/srv/homes/u");
    CHECK(h.mounts({"/srv/homes/u"}) == "");
    CHECK(h.mounts({"/srv/homes/u/new.txt"}) == "");
    CHECK(h.mounts({"~/proj"}) == "/srv/homes/u/proj");
}

TEST_CASE("automount: a link to kakuri's own state mounts nothing") {
    FakeHost h;
    h.file("/home/u/.local/kakuri/containers/box/container");
    h.link("/home/u/proj/c", "/home/u/.local/kakuri/containers/box");
    CHECK(h.mounts({"~/proj/c/container"}) == "");
    CHECK(h.mounts({"~/.local/kakuri/containers/box/container"}) == "");
    CHECK(h.mounts({"~/.local/kakuri/containers"}) == "");
    // Around it is fine: the plan hides it (plan.cpp).
    CHECK(h.mounts({"~/.local/kakuri"}) == "/home/u/.local/kakuri");
}

TEST_CASE("automount: an ordinary link in a project mounts its target and is made inside") {
    FakeHost h;
    h.file("/home/u/proj/v2/data.txt").link("/home/u/proj/latest", "v2");
    CHECK(h.mounts({"~/proj/latest/data.txt"}) == "/home/u/proj/v2");
    CHECK(h.links_made({"~/proj/latest/data.txt"}) == "/home/u/proj/latest->/home/u/proj/v2");
    CHECK(h.mounts({"~/proj/latest/out.txt"}) == "/home/u/proj/v2");
    CHECK(h.mounts({"~/proj/latest"}) == "/home/u/proj/v2");
    // Named together with the project, the link is inside what is mounted: merged.
    CHECK(h.mounts({"~/proj", "~/proj/latest/data.txt"}) == "/home/u/proj");
}

TEST_CASE("automount: a chain of links: every hop, from where the previous one led") {
    FakeHost h;
    h.file("/data/set/x.csv").link("/home/u/a", "/home/u/c").link("/home/u/c/b", "/data/set");
    h.dir("/home/u/c");
    CHECK(h.mounts({"~/a/b/x.csv"}) == "/data/set");
    CHECK(h.links_made({"~/a/b/x.csv"}) == "/home/u/a->/home/u/c /home/u/c/b->/data/set");
}

TEST_CASE("automount: a dangling link resolves to where it points") {
    FakeHost h;
    h.dir("/srv/out").link("/home/u/proj/o", "/srv/out/new.txt");
    CHECK(h.mounts({"~/proj/o"}) == "/srv/out");
    h.link("/home/u/proj/k", "/proc/sys/kernel/nothing");
    CHECK(h.mounts({"~/proj/k"}) == "");
}

TEST_CASE("automount: already visible is decided on the target") {
    FakeHost h;
    h.link("/home/u/proj/etc", "/etc");
    CHECK(h.mounts({"~/proj/etc/hosts", "~/proj/etc"}) == "");
}

// --- fresh directories: only what is named, named directly -------------------------------------

TEST_CASE("automount: a file under /tmp is mounted alone, never its directory") {
    FakeHost h;
    h.file("/tmp/build/x.c").file("/tmp/build/neighbour").file("/tmp/a.c");
    CHECK(h.mounts({"/tmp/build/x.c"}) == "/tmp/build/x.c");
    CHECK(h.mounts({"/tmp/a.c"}) == "/tmp/a.c");
    CHECK(h.mounts({"/var/tmp/f.txt"}) == "");
    h.file("/var/tmp/f.txt").file("/run/user/1000/bus");
    CHECK(h.mounts({"/var/tmp/f.txt", "/run/user/1000/bus"}) ==
          "/var/tmp/f.txt /run/user/1000/bus");
}

TEST_CASE("automount: a directory under /tmp named directly is mounted itself") {
    FakeHost h;
    h.dir("/tmp/build");
    CHECK(h.mounts({"/tmp/build"}) == "/tmp/build");
    CHECK(h.mounts({"/tmp/build", "/tmp/build/x.c"}) == "/tmp/build");
}

TEST_CASE("automount: a missing path under /tmp mounts nothing") {
    FakeHost h;
    h.dir("/tmp/build");
    CHECK(h.mounts({"/tmp/a.out", "/tmp/build/a.out", "--out=/run/x.pid"}) == "");
    CHECK(h.notes({"/tmp/a.out"}) ==
          "not mounted: /tmp/a.out: it does not exist, and the "
          "container writes into its own, fresh /tmp\n");
}

TEST_CASE("automount: the fresh directories themselves are never mounted") {
    FakeHost h;
    CHECK(h.mounts({"/tmp", "/var/tmp", "/run", "/tmp/", "/dev/shm"}) == "");
}

TEST_CASE("automount: a link into /tmp mounts nothing, even to a file") {
    FakeHost h;
    h.file("/tmp/tmux-1000/default").link("/home/u/proj/out", "/tmp/tmux-1000/default");
    h.link("/home/u/proj/dir", "/tmp/tmux-1000").link("/home/u/proj/run", "/run");
    for (const char* arg : {"~/proj/out", "~/proj/dir", "~/proj/dir/default", "~/proj/run/x"}) {
        CAPTURE(arg);
        CHECK(h.mounts({arg}) == "");
    }
    CHECK(h.notes({"~/proj/out"}) ==
          "not mounted: /home/u/proj/out (-> "
          "/tmp/tmux-1000/default): a symbolic link into /tmp, which "
          "is shared on the host\n");
    // A link inside /tmp to elsewhere in it, too.
    h.file("/tmp/p/v2/a.c").link("/tmp/p/latest", "v2");
    CHECK(h.mounts({"/tmp/p/latest/a.c"}) == "");
}

TEST_CASE("automount: $HOME in /tmp keeps the home's rules") {
    FakeHost h;
    h.home = "/tmp/t/home";
    h.file("/tmp/t/home/proj/a.py").file("/tmp/t/home/notes.txt").file("/tmp/t/other.txt");
    CHECK(h.mounts({"~/proj/a.py"}) == "/tmp/t/home/proj");
    CHECK(h.mounts({"~/notes.txt"}) == "/tmp/t/home/notes.txt");
    CHECK(h.mounts({"~/proj/new.txt"}) == "/tmp/t/home/proj");
    CHECK(h.mounts({"~", "~/new.txt"}) == "");
    CHECK(h.mounts({"/tmp/t/other.txt", "/tmp/t/new.txt"}) == "/tmp/t/other.txt");
}

TEST_CASE("automount: a fresh directory known by its resolved host path") {
    // /var/run -> /run: the rules see /run.
    FakeHost h;
    h.link("/var/run", "/run").file("/run/app.pid").dir("/run/app");
    CHECK(h.mounts({"/var/run/app.pid"}) == "");  // through a link into /run
    CHECK(h.mounts({"/run/app.pid"}) == "/run/app.pid");
}

}  // namespace kakuri
