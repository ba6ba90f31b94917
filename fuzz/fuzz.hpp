// fuzz: what the libFuzzer targets share: splitting the input into words, and a check that
// crashes (so libFuzzer keeps the input) when a parser breaks its own contract.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// Not assert(): the fuzz build may define NDEBUG, and a broken contract must always count.
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                 \
        }                                                                                 \
    } while (0)

namespace fuzz {

// The input split on NUL bytes, as argv words would arrive.
inline std::vector<std::string> split_words(const uint8_t* data, size_t size) {
    std::vector<std::string> out(1);
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0)
            out.emplace_back();
        else
            out.back() += static_cast<char>(data[i]);
    }
    return out;
}

}  // namespace fuzz
