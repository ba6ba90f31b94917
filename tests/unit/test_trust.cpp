// Unit tests for trust: the owner and mode rules, and open_trusted's walk on a scratch tree
// (ownership cases need root to chown).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "scratch.hpp"
#include "store.hpp"
#include "trust.hpp"

using namespace kakuri;

namespace {

struct stat with(uid_t uid, mode_t mode) {
    struct stat st {};
    st.st_uid = uid;
    st.st_mode = mode;
    return st;
}

std::string refusal_of(const std::string& path, uid_t caller) {
    try {
        open_trusted(path, caller);
    } catch (const Refusal& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("trust: the owner and mode rules") {
    const uid_t me = 1000;
    CHECK(distrust(with(me, S_IFDIR | 0700), me, TrustAs::Directory) == "");
    CHECK(distrust(with(0, S_IFDIR | 0755), me, TrustAs::Ancestor) == "");
    CHECK(distrust(with(0, S_IFREG | 0644), me, TrustAs::File) == "");
    CHECK(distrust(with(1001, S_IFDIR | 0700), me, TrustAs::Directory) ==
          "owned by uid 1001, not by you or root");
    CHECK(distrust(with(1001, S_IFREG | 0600), 0, TrustAs::File) ==
          "owned by uid 1001, not by you or root");
    CHECK(distrust(with(me, S_IFREG | 0664), me, TrustAs::File) ==
          "writable by its group (mode 0664)");
    CHECK(distrust(with(me, S_IFREG | 0646), me, TrustAs::File) ==
          "writable by others (mode 0646)");
    CHECK(distrust(with(me, S_IFDIR | 0777), me, TrustAs::Ancestor) ==
          "writable by its group and others (mode 0777)");
    // /tmp: others may add entries but not replace ours, so it may be on the way...
    CHECK(distrust(with(0, S_IFDIR | 01777), me, TrustAs::Ancestor) == "");
    // ...but is not a place to keep our own things, nor is a sticky directory of a user.
    CHECK(distrust(with(0, S_IFDIR | 01777), 0, TrustAs::Directory) ==
          "writable by its group and others (mode 1777)");
    CHECK(distrust(with(me, S_IFDIR | 01777), me, TrustAs::Ancestor) != "");
    // A symlink's mode means nothing; its owner does.
    CHECK(distrust(with(me, S_IFLNK | 0777), me, TrustAs::File) == "");
    CHECK(distrust(with(1001, S_IFLNK | 0777), me, TrustAs::File) != "");
}

TEST_CASE("trust: open_trusted walks by fd and says what is wrong") {
    Scratch s("trust");
    const uid_t me = getuid();
    std::string f = s.file("c.toml");
    Trusted t = open_trusted(f, me);
    REQUIRE(t.fd);
    CHECK(S_ISREG(t.st.st_mode));
    CHECK(t.path == f);
    UniqueFd r = reopen(t.fd.get(), O_RDONLY);
    CHECK(r);

    // Missing: no fd, no refusal.
    Trusted m = open_trusted(s.dir + "/none/c.toml", me);
    CHECK_FALSE(m.fd);
    CHECK(m.err == ENOENT);

    // The file writable by others; then a directory above it.
    REQUIRE(chmod(f.c_str(), 0666) == 0);
    CHECK(refusal_of(f, me) == "refusing " + f + ": writable by its group and others (mode 0666)");
    REQUIRE(chmod(f.c_str(), 0644) == 0);
    std::string open = s.mkdir("open", 0777);
    std::string in_open = open + "/c.toml";
    REQUIRE(symlink("x", (open + "/link").c_str()) == 0);
    UniqueFd(::open(in_open.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    CHECK(refusal_of(in_open, me) ==
          "refusing " + in_open + ": " + open + " is writable by its group and others (mode 0777)");
    // What does not exist behind it is just missing: nothing there to trust.
    Trusted behind = open_trusted(open + "/missing.toml", me);
    CHECK_FALSE(behind.fd);
    // A link there is never followed.
    CHECK(refusal_of(open + "/link", me) != "");
    // Not even by the one who would make what is missing.
    CHECK_THROWS_AS(make_trusted_dir(open + "/made/here", me), Refusal);
    struct stat st;
    CHECK(stat((open + "/made").c_str(), &st) != 0);
    // A sticky directory of root's is fine on the way, as /tmp is.
    REQUIRE(chmod(open.c_str(), 01777) == 0);
    if (me == 0) CHECK(open_trusted(in_open, me).fd);
    CHECK(refusal_of(open, me) != "");  // but not as the directory itself
}

TEST_CASE("trust: symlinks are followed only when the caller or root made them") {
    Scratch s("trust");
    const uid_t me = getuid();
    std::string real = s.mkdir("dotfiles");
    std::string target = real + "/config.toml";
    UniqueFd(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    // As GNU stow links a config: relative, through "..".
    std::string cfgdir = s.mkdir("cfg");
    std::string link = cfgdir + "/config.toml";
    REQUIRE(symlink("../dotfiles/config.toml", link.c_str()) == 0);
    Trusted t = open_trusted(link, me);
    REQUIRE(t.fd);
    CHECK(t.path == target);
    // An absolute link to a directory, then more components.
    REQUIRE(symlink(real.c_str(), (s.dir + "/abs").c_str()) == 0);
    CHECK(open_trusted(s.dir + "/abs/config.toml", me).path == target);
    // A loop ends.
    REQUIRE(symlink("loop", (s.dir + "/loop").c_str()) == 0);
    CHECK(open_trusted(s.dir + "/loop", me).err == ELOOP);
    // The caller's own pipes through /dev/fd and /proc/self/fd (magic links).
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    Trusted p = open_trusted("/dev/fd/" + std::to_string(fds[0]), me);
    CHECK(p.fd);
    CHECK(S_ISFIFO(p.st.st_mode));
    close(fds[0]);
    close(fds[1]);
    if (me != 0) return;
    // Someone else's link in a directory of ours: refused even though the directory is ours.
    REQUIRE(lchown(link.c_str(), 4321, 4321) == 0);
    CHECK(refusal_of(link, me) ==
          "refusing " + link + ": a symlink owned by uid 4321, not by you or root");
    // Someone else's directory on the way.
    REQUIRE(lchown(link.c_str(), 0, 0) == 0);
    REQUIRE(chown(real.c_str(), 4321, 4321) == 0);
    CHECK(refusal_of(link, me) ==
          "refusing " + link + ": " + real + " is owned by uid 4321, not by you or root");
    // Someone else's file, at the end of a link of ours.
    REQUIRE(chown(real.c_str(), 0, 0) == 0);
    REQUIRE(chown(target.c_str(), 4321, 4321) == 0);
    CHECK(refusal_of(link, me) ==
          "refusing " + link + ": " + target + " is owned by uid 4321, not by you or root");
    CHECK(refusal_of(target, me) ==
          "refusing " + target + ": owned by uid 4321, not by you or root");
}

TEST_CASE("trust: make_trusted_dir makes what is missing, private") {
    Scratch s("trust");
    std::string d = s.dir + "/a/b/c";
    Trusted t = make_trusted_dir(d, getuid());
    REQUIRE(t.fd);
    struct stat st;
    REQUIRE(fstat(t.fd.get(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 077) == 0);
    REQUIRE(stat((s.dir + "/a").c_str(), &st) == 0);
    CHECK((st.st_mode & 077) == 0);
    // Again: already there.
    CHECK(make_trusted_dir(d, getuid()).fd);
}

TEST_CASE("trust: open_trusted_dir opens a store's directory, or nothing when it is not there") {
    Scratch s("trustdir");
    const std::string d = s.dir + "/store";
    CHECK_FALSE(open_trusted_dir(d, getuid(), "changes_dir").fd);           // not made yet
    CHECK_FALSE(open_trusted_dir(d + "/x/y", getuid(), "changes_dir").fd);  // nor above it
    REQUIRE(mkdir(d.c_str(), 0700) == 0);
    Trusted t = open_trusted_dir(d, getuid(), "changes_dir");
    REQUIRE(t.fd);
    CHECK((fcntl(t.fd.get(), F_GETFL) & O_PATH) == 0);  // readable, not O_PATH
    CHECK(t.path == d);
    CHECK(faccessat(t.fd.get(), ".", R_OK, 0) == 0);
    REQUIRE(chmod(d.c_str(), 0770) == 0);
    CHECK_THROWS_AS(open_trusted_dir(d, getuid(), "changes_dir"), Refusal);
    REQUIRE(rmdir(d.c_str()) == 0);
    REQUIRE(close(open((d).c_str(), O_CREAT | O_WRONLY, 0600)) == 0);
    try {
        open_trusted_dir(d, getuid(), "containers_dir");
        FAIL("a file taken for a directory");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) == "containers_dir " + d + " is not a directory");
    }
}
