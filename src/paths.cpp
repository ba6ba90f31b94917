// paths: the one place path strings are taken apart and put together.
#include "paths.hpp"

#include <algorithm>
#include <cctype>

namespace kakuri {

std::vector<std::string> path_components(const std::string& path) {
    std::vector<std::string> out;
    for (std::string& name : split(path, '/'))
        if (!name.empty() && name != ".") out.push_back(std::move(name));
    return out;
}

std::string join_components(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += "/" + n;
    return out.empty() ? "/" : out;
}

std::string normalize_path(const std::string& path) {
    std::vector<std::string> parts;
    for (std::string& name : path_components(path)) {
        if (name != "..")
            parts.push_back(std::move(name));
        else if (!parts.empty())
            parts.pop_back();
    }
    return join_components(parts);
}

bool path_within(const std::string& path, const std::string& dir) {
    if (dir == "/") return true;
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           path[dir.size()] == '/');
}

bool is_tilde_path(const std::string& word) {
    return word == "~" || word.compare(0, 2, "~/") == 0;
}

std::string expand_tilde(const std::string& path, const std::string& home) {
    return is_tilde_path(path) ? home + path.substr(1) : path;
}

std::string parent_path(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    return path.substr(path.rfind('/') + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    for (size_t i = 0;;) {
        size_t j = s.find(sep, i);
        out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
        if (j == std::string::npos) return out;
        i = j + 1;
    }
}

bool valid_store_name(const std::string& n) {
    if (n.empty() || n.size() > 64 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
    return std::all_of(n.begin(), n.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '.' || c == '-';
    });
}

}  // namespace kakuri
