// capnames: capabilities by name and by number, without libcap: Docker's default set, the names
// --cap-add and --cap-drop take, and a set as --dry-run prints it. Pure: caps applies a set.
#pragma once

#include <cstdint>
#include <string>

namespace kakuri {

// Docker's default set: what root inside keeps unless --cap-add/--cap-drop say otherwise.
uint64_t default_caps();
// "SYS_ADMIN", "CAP_SYS_ADMIN", "sys_admin" or "ALL" -> mask; throws Error otherwise.
uint64_t parse_cap(const std::string& name);
std::string format_caps(uint64_t mask);  // "chown,dac_override,..." or "none"

}  // namespace kakuri
