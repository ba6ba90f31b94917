// Unit tests for envrules: the built-in credential rule, pattern matching, env_keep/env_drop.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "envrules.hpp"

namespace kakuri {

namespace {

bool dropped(const std::string& name, const EnvFilter& f = {}) {
    return env_dropped(name, f);
}

}  // namespace

TEST_CASE("envrules: every well-known name stays outside") {
    for (const char* name : {"AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY",
                             "AWS_SESSION_TOKEN",
                             "GITHUB_TOKEN",
                             "GH_TOKEN",
                             "GITLAB_TOKEN",
                             "NPM_TOKEN",
                             "VAULT_TOKEN",
                             "OPENAI_API_KEY",
                             "ANTHROPIC_API_KEY",
                             "GOOGLE_APPLICATION_CREDENTIALS",
                             "KRB5CCNAME",
                             "SSH_AUTH_SOCK",
                             "GPG_AGENT_INFO",
                             "PGPASSWORD",
                             "MYSQL_PWD",
                             "REDISCLI_AUTH",
                             "SSHPASS",
                             "BW_SESSION",
                             "DOCKER_AUTH_CONFIG",
                             "TOKEN",
                             "SECRET",
                             "PASSWORD",
                             "API_KEY"}) {
        CAPTURE(name);
        CHECK(dropped(name));
    }
}

TEST_CASE("envrules: every pattern") {
    for (const char* name :
         {"MY_TOKEN", "CI_JOB_TOKEN", "X_SECRET", "AZURE_CLIENT_SECRET", "DJANGO_SECRET_KEY",
          "DB_PASSWORD", "FTP_PASSWD", "MY_API_KEY", "AWS_ACCESS_KEY", "SIGNING_PRIVATE_KEY",
          "GCP_CREDENTIALS", "TF_TOKEN_app_terraform_io", "OP_SESSION_my", "_TOKEN"}) {
        CAPTURE(name);
        CHECK(dropped(name));
    }
}

TEST_CASE("envrules: names compare case-insensitively") {
    CHECK(dropped("aws_secret_access_key"));
    CHECK(dropped("github_token"));
    CHECK(dropped("Gh_Token"));
    CHECK(dropped("my_api_key"));
    CHECK(dropped("db_Password"));
    CHECK(dropped("tf_token_x"));
    CHECK(env_pattern_matches("*_token", "A_TOKEN"));
    CHECK(env_pattern_matches("Home", "HOME"));
}

TEST_CASE("envrules: near misses cross") {
    for (const char* name : {"TOKENIZERS_PARALLELISM",
                             "KEYBOARD_LAYOUT",
                             "PASSWORD_STORE_DIR",
                             "MY_TOKEN_FILE",
                             "GITHUB_TOKEN_PATH",
                             "SECRETS_DIR",
                             "MYTOKEN",
                             "APIKEY",
                             "HOME",
                             "PATH",
                             "LANG",
                             "TERM",
                             "SHELL",
                             "USER",
                             "PWD",
                             "DISPLAY",
                             "SSH_CONNECTION",
                             "GPG_TTY",
                             "XDG_RUNTIME_DIR",
                             "AWS_REGION",
                             "AWS_PROFILE",
                             "GIT_AUTHOR_NAME",
                             ""}) {
        CAPTURE(name);
        CHECK_FALSE(dropped(name));
    }
}

TEST_CASE("envrules: pattern forms") {
    CHECK(env_pattern_matches("*", "ANYTHING"));
    CHECK(env_pattern_matches("*", ""));
    CHECK(env_pattern_matches("MY_*", "MY_"));
    CHECK(env_pattern_matches("MY_*", "MY_VAR"));
    CHECK_FALSE(env_pattern_matches("MY_*", "MY"));
    CHECK_FALSE(env_pattern_matches("MY_*", "XMY_VAR"));
    CHECK(env_pattern_matches("*_X", "A_X"));
    CHECK_FALSE(env_pattern_matches("*_X", "A_XY"));
    CHECK_FALSE(env_pattern_matches("*_X", "X"));
    CHECK(env_pattern_matches("NAME", "NAME"));
    CHECK_FALSE(env_pattern_matches("NAME", "NAMES"));
    CHECK_FALSE(env_pattern_matches("NAME", "NAM"));

    for (const char* p : {"NAME", "*_SUFFIX", "PREFIX_*", "*", "a.b-c", "lower_case"}) {
        CAPTURE(p);
        CHECK(valid_env_pattern(p));
    }
    for (const char* p : {"", "A=B", "=", "A*B", "*A*", "**", "A B", "A\tB", "*A\n"}) {
        CAPTURE(p);
        CHECK_FALSE(valid_env_pattern(p));
    }
    for (const auto& p : credential_rule()) {
        CAPTURE(p);
        CHECK(valid_env_pattern(p));
    }
}

TEST_CASE("envrules: env_drop adds names and patterns") {
    EnvFilter f;
    f.drop = {"INTERNAL_URL", "CORP_*", "*_PIN"};
    CHECK(dropped("INTERNAL_URL", f));
    CHECK(dropped("internal_url", f));
    CHECK(dropped("CORP_SSO", f));
    CHECK(dropped("BANK_PIN", f));
    CHECK(dropped("GITHUB_TOKEN", f));  // the built-in rule still applies
    CHECK_FALSE(dropped("INTERNAL_URLS", f));
    CHECK_FALSE(dropped("LANG", f));
}

TEST_CASE("envrules: env_keep and env_drop precedence") {
    EnvFilter f;
    SUBCASE("a kept name crosses though the built-in rule names it") {
        f.keep = {"GITHUB_TOKEN", "ssh_auth_sock"};
        CHECK_FALSE(dropped("GITHUB_TOKEN", f));
        CHECK_FALSE(dropped("SSH_AUTH_SOCK", f));
        CHECK(dropped("GH_TOKEN", f));
    }
    SUBCASE("a kept pattern beats the built-in rule, names and patterns alike") {
        f.keep = {"*_TOKEN"};
        CHECK_FALSE(dropped("GITHUB_TOKEN", f));  // also a built-in name
        CHECK_FALSE(dropped("MY_TOKEN", f));
        CHECK(dropped("MY_API_KEY", f));
    }
    SUBCASE("a dropped name beats a kept pattern") {
        f.keep = {"*_TOKEN"};
        f.drop = {"GITHUB_TOKEN"};
        CHECK(dropped("GITHUB_TOKEN", f));
        CHECK_FALSE(dropped("GH_TOKEN", f));
    }
    SUBCASE("a kept name beats a dropped pattern") {
        f.keep = {"CORP_PUBLIC"};
        f.drop = {"CORP_*"};
        CHECK_FALSE(dropped("CORP_PUBLIC", f));
        CHECK(dropped("CORP_SSO", f));
    }
    SUBCASE("the same name in both: kept") {
        f.keep = {"DB_PASSWORD"};
        f.drop = {"DB_PASSWORD"};
        CHECK_FALSE(dropped("DB_PASSWORD", f));
    }
    SUBCASE("both patterns match: kept") {
        f.keep = {"MY_*"};
        f.drop = {"*_URL"};
        CHECK_FALSE(dropped("MY_URL", f));
        CHECK(dropped("DB_URL", f));
    }
    SUBCASE("an allow list: drop everything, keep a few") {
        f.drop = {"*"};
        f.keep = {"LANG", "TERM", "LC_*"};
        CHECK_FALSE(dropped("LANG", f));
        CHECK_FALSE(dropped("LC_ALL", f));
        CHECK(dropped("EDITOR", f));
        CHECK(dropped("HOME", f));
    }
    SUBCASE("keep everything: the rule is off") {
        f.keep = {"*"};
        CHECK_FALSE(dropped("AWS_SECRET_ACCESS_KEY", f));
        CHECK_FALSE(dropped("SSH_AUTH_SOCK", f));
    }
}

TEST_CASE("envrules: looks_like_credential ignores env_keep") {
    EnvFilter f;
    f.keep = {"GITHUB_TOKEN"};
    f.drop = {"INTERNAL_URL"};
    CHECK(looks_like_credential("GITHUB_TOKEN", f));
    CHECK(looks_like_credential("internal_url", f));
    CHECK(looks_like_credential("MY_API_KEY", f));
    CHECK_FALSE(looks_like_credential("LANG", f));
    CHECK_FALSE(looks_like_credential("INTERNAL_URL", EnvFilter{}));
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE("envrules: env_value finds the first NAME=VALUE, as getenv does") {
    const std::vector<std::string> env = {"PATH=/usr/bin:/bin", "EMPTY=",  "A=1=2",
                                          "PATH=/second",       "NOVALUE", "PATHX=no"};
    CHECK(env_value(env, "PATH") == std::optional<std::string>("/usr/bin:/bin"));
    CHECK(env_value(env, "EMPTY") == std::optional<std::string>(""));
    CHECK(env_value(env, "A") == std::optional<std::string>("1=2"));
    CHECK(env_value(env, "PATHX") == std::optional<std::string>("no"));
    // An entry without '=' has no value (and is no crash: "NOVALUE".substr(8) would throw).
    CHECK_FALSE(env_value(env, "NOVALUE").has_value());
    CHECK_FALSE(env_value(env, "PAT").has_value());
    CHECK_FALSE(env_value(env, "path").has_value());  // names are compared exactly
    CHECK_FALSE(env_value(std::vector<std::string>{}, "PATH").has_value());
    // The caller's environment: views into its block.
    const std::vector<std::string_view> caller = {"HOME=/home/u", "PATH", "PATH=/x"};
    CHECK(env_value(caller, "HOME") == std::optional<std::string>("/home/u"));
    CHECK(env_value(caller, "PATH") == std::optional<std::string>("/x"));
}

}  // namespace kakuri
