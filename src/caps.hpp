// caps: applying the capability sets of the container's processes (libcap); what the sets are
// called is capnames'.
#pragma once

#include <cstdint>

namespace kakuri {

// In the command, before exec: bounding set reduced to mask, permitted and
// effective = mask, inheritable and ambient empty.
void apply_caps(uint64_t mask);

}  // namespace kakuri
