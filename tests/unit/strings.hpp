// How doctest prints the vectors (of strings, of id map lines) that several unit tests compare.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "idmap.hpp"

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& v) {
        std::string out = "[";
        for (size_t i = 0; i < v.size(); ++i) out += (i ? ", \"" : "\"") + v[i] + "\"";
        return (out + "]").c_str();
    }
};

template <>
struct StringMaker<std::vector<kakuri::IdMapLine>> {
    static String convert(const std::vector<kakuri::IdMapLine>& v) {
        std::string out = "[";
        for (size_t i = 0; i < v.size(); ++i)
            out += (i ? ", " : "") + std::to_string(v[i].inside) + " " +
                   std::to_string(v[i].outside) + " " + std::to_string(v[i].count);
        return (out + "]").c_str();
    }
};
}  // namespace doctest
