// durable: the recorded part of a ContainerSpec — what `create` decided once — to and from
// the key/value fields of a container's record. Pure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "container.hpp"

namespace kakuri {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Identity, network, hostname, root, system directories, home, binds, links, capabilities,
// filter and the process rules; not the command, environment, directory, hidden paths or
// the persistent directory (each start and exec derives those).
Fields container_fields(const ContainerSpec& spec);
// Throws Error naming the field on anything unknown or malformed.
ContainerSpec container_from_fields(const Fields& fields);

// The recorded fields as `inspect` shows them: each value's words decoded and joined by
// spaces, an environment entry's value hidden (env K=V and env_set K=V show as K=...), and
// the key of a field that may repeat marked with "[]" (a list: store.hpp's Fields).
Fields shown_fields(const Fields& recorded);

// The network as `list` shows it: none, host, or private and its published ports as podman
// writes them (private 127.0.0.1:8080->80/tcp).
std::string network_summary(const Policy& policy);

// One word of a field's value: '%', spaces and control characters percent-encoded, so that
// a value is one line and its words split at single spaces.
std::string encode_word(const std::string& w);
std::string decode_word(const std::string& w);

}  // namespace kakuri
