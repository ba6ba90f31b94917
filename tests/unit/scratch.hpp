// A scratch directory for the unit tests that need real files: fresh under /tmp (root's and
// sticky, as the trust rules want a parent to be), removed with all it holds at scope exit.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "store.hpp"
#include "sys.hpp"

namespace kakuri {

struct Scratch {
    std::string dir;  // /tmp/kakuri-WHAT-test-XXXXXX

    explicit Scratch(const std::string& what) : dir("/tmp/kakuri-" + what + "-test-XXXXXX") {
        REQUIRE(mkdtemp(&dir[0]));
    }
    ~Scratch() {
        UniqueFd tmp(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        remove_tree_at(tmp.get(), dir.substr(5));
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

    std::string mkdir(const std::string& name, mode_t mode = 0755) const {
        std::string p = dir + "/" + name;
        REQUIRE(::mkdir(p.c_str(), mode) == 0);
        REQUIRE(chmod(p.c_str(), mode) == 0);
        return p;
    }
    // A new file holding text.
    std::string file(const std::string& name, mode_t mode = 0644,
                     const std::string& text = "") const {
        std::string p = dir + "/" + name;
        UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
        REQUIRE(fd);
        REQUIRE(write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        REQUIRE(chmod(p.c_str(), mode) == 0);
        return p;
    }
};

}  // namespace kakuri
