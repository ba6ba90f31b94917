// envrules: the built-in list of credential-carrying variable names and the matching rules.
#include "envrules.hpp"

#include <algorithm>

namespace kakuri {

namespace {

// Names found in the wild that none of the patterns below catch, then the patterns. A pattern
// is a suffix after an underscore, so that TOKENIZERS_PARALLELISM, KEYBOARD_LAYOUT and
// PASSWORD_STORE_DIR still cross; the bare words themselves (a variable named TOKEN) are listed
// as names.
const std::vector<std::string> kCredentialRule = {
    // Cloud and forge tokens named in the attack report (several also match a pattern).
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",
    "GITLAB_TOKEN", "NPM_TOKEN", "VAULT_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    // Agents and tickets: a path or socket that hands out the caller's identity.
    "KRB5CCNAME", "SSH_AUTH_SOCK", "GPG_AGENT_INFO",
    // Passwords read by well-known tools under names no pattern catches.
    "PGPASSWORD", "MYSQL_PWD", "REDISCLI_AUTH", "SSHPASS", "BW_SESSION", "DOCKER_AUTH_CONFIG",
    // The suffixes' words alone.
    "TOKEN", "SECRET", "SECRET_KEY", "PASSWORD", "PASSWD", "API_KEY", "ACCESS_KEY", "PRIVATE_KEY",
    "CREDENTIALS",
    // Patterns.
    "*_TOKEN", "*_SECRET", "*_SECRET_KEY", "*_PASSWORD", "*_PASSWD", "*_API_KEY", "*_ACCESS_KEY",
    "*_PRIVATE_KEY", "*_CREDENTIALS", "TF_TOKEN_*", "OP_SESSION_*"};

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_ci(const std::string& a, size_t a_pos, const std::string& b, size_t b_pos, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (lower(a[a_pos + i]) != lower(b[b_pos + i])) return false;
    return true;
}

bool is_pattern(const std::string& p) {
    return p.find('*') != std::string::npos;
}

template <class Entry>
std::optional<std::string> first_value(const std::vector<Entry>& env, std::string_view name) {
    for (std::string_view e : env)
        if (e.size() > name.size() && e[name.size()] == '=' && e.compare(0, name.size(), name) == 0)
            return std::string(e.substr(name.size() + 1));
    return std::nullopt;
}

bool any_match(const std::vector<std::string>& patterns, const std::string& name, bool globs) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
        return is_pattern(p) == globs && env_pattern_matches(p, name);
    });
}

}  // namespace

const std::vector<std::string>& credential_rule() {
    return kCredentialRule;
}

bool valid_env_pattern(const std::string& p) {
    if (p.empty()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(p[i]);
        if (c <= ' ' || c == 0x7f || c == '=') return false;
        if (c == '*' && i != 0 && i + 1 != p.size()) return false;
    }
    // "*" alone is every name; "*X*" is not one of the forms.
    return p == "*" || !(p.front() == '*' && p.back() == '*');
}

bool env_pattern_matches(const std::string& p, const std::string& name) {
    if (p == "*") return true;
    if (!p.empty() && p.front() == '*') {
        size_t n = p.size() - 1;
        return name.size() >= n && same_ci(name, name.size() - n, p, 1, n);
    }
    if (!p.empty() && p.back() == '*') {
        size_t n = p.size() - 1;
        return name.size() >= n && same_ci(name, 0, p, 0, n);
    }
    return name.size() == p.size() && same_ci(name, 0, p, 0, p.size());
}

bool env_dropped(const std::string& name, const EnvFilter& f) {
    for (bool globs : {false, true}) {
        if (any_match(f.keep, name, globs)) return false;
        if (any_match(f.drop, name, globs)) return true;
    }
    return looks_like_credential(name, EnvFilter{});
}

bool looks_like_credential(const std::string& name, const EnvFilter& f) {
    auto matches = [&](const std::string& p) { return env_pattern_matches(p, name); };
    return std::any_of(kCredentialRule.begin(), kCredentialRule.end(), matches) ||
           std::any_of(f.drop.begin(), f.drop.end(), matches);
}

std::optional<std::string> env_value(const std::vector<std::string_view>& env,
                                     std::string_view name) {
    return first_value(env, name);
}

std::optional<std::string> env_value(const std::vector<std::string>& env, std::string_view name) {
    return first_value(env, name);
}

}  // namespace kakuri
