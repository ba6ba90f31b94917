// paths: path strings and colon-separated lists, lexically: no file system, no syscalls,
// nothing of kakuri's but what the standard library has. Every other file that takes a path
// apart or walks up one does it here.
#pragma once

#include <string>
#include <vector>

namespace kakuri {

// The names of a path, in order: empty ones ("//") and "." left out, ".." kept.
std::vector<std::string> path_components(const std::string& path);
// "/" followed by names joined with '/'; "/" for none.
std::string join_components(const std::vector<std::string>& names);

// Lexically clean an absolute path: no "." or ".." or doubled slashes ("/.." is "/").
std::string normalize_path(const std::string& path);

// Is path equal to or below dir (both normalized, absolute)? By components: /usr2 is not
// within /usr.
bool path_within(const std::string& path, const std::string& dir);

// Does the word start with the caller's home: "~" or "~/..." (not "~user")?
bool is_tilde_path(const std::string& word);
// "~" and "~/x" relative to home; anything else unchanged.
std::string expand_tilde(const std::string& path, const std::string& home);

// The directory holding path's last name: "/a/b" -> "/a", "/a" -> "/", "/" -> "/". Paths here
// are absolute and normalized; one without a slash has "/" as its parent too, so that every walk
// up a path ends at "/".
std::string parent_path(const std::string& path);
// The last name: "/a/b" -> "b", "/" -> "", "b" -> "b".
std::string base_name(const std::string& path);

// The fields of s between each sep, empty ones included: "a::b" -> {"a", "", "b"}, "" -> {""}.
// For PATH (where an empty field means the working directory), SRC:DST:ro, and the
// colon-separated lines of /etc/passwd and /etc/subuid.
std::vector<std::string> split(const std::string& s, char sep = ':');

// A name kakuri gives a directory of its own (a container, an image): letters, digits, '_', '.'
// and '-', starting with a letter or digit, at most 64 characters (so never "." or "..").
bool valid_store_name(const std::string& name);

}  // namespace kakuri
