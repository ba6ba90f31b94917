// fuzz_cli: the input split on NUL bytes as argv words, through parse_run_options.
#include <algorithm>

#include "cli.hpp"
#include "fuzz.hpp"
#include "sys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> words = fuzz::split_words(data, size);
    words.insert(words.begin(), "kakuri");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    kakuri::Options o;
    try {
        o = kakuri::parse_run_options(static_cast<int>(words.size()), argv.data());
    } catch (const kakuri::Error&) {
        return 0;
    }
    // getopt must not have reordered or rewritten the words it was given.
    FUZZ_CHECK(o.binds.size() == o.binds_ro_forced.size());
    FUZZ_CHECK(o.auto_mount.empty() || o.auto_mount == "rw" || o.auto_mount == "ro" ||
               o.auto_mount == "off");
    FUZZ_CHECK(o.command.size() < words.size());
    FUZZ_CHECK(std::equal(o.command.begin(), o.command.end(), words.end() - o.command.size()));
    return 0;
}
