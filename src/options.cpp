// options: the one reading of a bind's "SRC[:DST][:ro|:rw]", for --bind and a config's bind lists.
#include "options.hpp"

#include "paths.hpp"

namespace kakuri {

BindText split_bind(const std::string& text) {
    BindText out;
    std::vector<std::string> parts = split(text, ':');
    if (parts.size() >= 2 && (parts.back() == "ro" || parts.back() == "rw")) {
        out.mode = parts.back();
        parts.pop_back();
    }
    out.well_formed =
        parts.size() <= 2 && !parts[0].empty() && (parts.size() == 1 || !parts[1].empty());
    if (!out.well_formed) return out;
    out.src = parts[0];
    if (parts.size() == 2) out.dst = parts[1];
    return out;
}

}  // namespace kakuri
