// envrules: which of the caller's environment variables carry credentials and so stay outside
// a container unless passed on purpose, and how a variable is found in an environment list.
// Pure: the rules look at names and patterns, never at values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kakuri {

// The built-in credential rule, in the order the documentation lists it: well-known names,
// then name patterns.
const std::vector<std::string>& credential_rule();

// A name ("GITHUB_TOKEN"), "*SUFFIX" ("*_TOKEN"), "PREFIX*" ("TF_TOKEN_*") or "*" (every name):
// no '=', no blanks or control characters, '*' only at one end.
bool valid_env_pattern(const std::string& pattern);

// Does name match pattern? ASCII letters compare case-insensitively (aws_secret_access_key is
// AWS_SECRET_ACCESS_KEY); '*' matches any run of characters, the empty one too.
bool env_pattern_matches(const std::string& pattern, const std::string& name);

// What the configuration adds to the built-in rule ([defaults] env_drop and env_keep).
struct EnvFilter {
    std::vector<std::string> drop;  // more names and patterns to keep outside
    std::vector<std::string> keep;  // names and patterns that cross after all
};

// Does the caller's variable stay outside the container? The configuration decides before the
// built-in rule; within it a name written out decides before a pattern, and env_keep before
// env_drop:
//   a name in env_keep        -> crosses
//   a name in env_drop        -> stays outside
//   a pattern in env_keep     -> crosses
//   a pattern in env_drop     -> stays outside
//   the built-in rule         -> stays outside
//   anything else             -> crosses
bool env_dropped(const std::string& name, const EnvFilter& filter);

// On the built-in rule or in env_drop, whatever env_keep says: kakuri never writes such a
// variable's value into a container's record nor prints it (kakuri config shows "NAME=<hidden>").
bool looks_like_credential(const std::string& name, const EnvFilter& filter);

// The value of the first NAME=VALUE entry of an environment list, as getenv(3) finds it;
// nothing when there is none (an entry without '=' has no value). The caller's environment
// (HostInfo::environ, views) or a container's (ContainerSpec::env, Plan::env).
std::optional<std::string> env_value(const std::vector<std::string_view>& env,
                                     std::string_view name);
std::optional<std::string> env_value(const std::vector<std::string>& env, std::string_view name);

}  // namespace kakuri
