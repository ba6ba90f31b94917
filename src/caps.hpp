// caps: the capability sets of the container's processes (libcap).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kakuri {

// Docker's default set: what root inside keeps unless --cap-add/--cap-drop say otherwise.
uint64_t default_caps();
// "SYS_ADMIN", "CAP_SYS_ADMIN", "sys_admin" or "ALL" -> mask; throws Error otherwise.
uint64_t parse_cap(const std::string& name);
std::string format_caps(uint64_t mask);  // "chown,dac_override,..." or "none"

// In the command, before exec: bounding set reduced to mask, permitted and
// effective = mask, inheritable and ambient empty.
void apply_caps(uint64_t mask);

}  // namespace kakuri
