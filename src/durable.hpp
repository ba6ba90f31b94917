// durable: the recorded part of a ContainerSpec — what `create` decided once — to and from
// the key/value fields of a container's record. Pure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "spec.hpp"

namespace kakuri {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Identity, network, hostname, root, system directories, home, binds, links, capabilities,
// filter and the process rules; not the command, environment, directory, hidden paths or
// the persistent directory (each start and exec derives those).
Fields container_fields(const ContainerSpec& spec);
// Throws Error naming the field on anything unknown or malformed.
ContainerSpec container_from_fields(const Fields& fields);

// One word of a field's value: '%', spaces and control characters percent-encoded, so that
// a value is one line and its words split at single spaces.
std::string encode_word(const std::string& w);
std::string decode_word(const std::string& w);

}  // namespace kakuri
