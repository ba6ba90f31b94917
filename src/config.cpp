// config: value syntax and FILE:LINE errors on top of inih, the known sections and keys, and
// which config files are read in which order.
#include "config.hpp"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <initializer_list>

#include "envrules.hpp"
#include "limits.hpp"
#include "options.hpp"
#include "paths.hpp"
#include "sys.hpp"
#include "trust.hpp"

namespace kakuri {

namespace {

const char* const kSections[] = {"storage", "defaults", "bind_profiles"};
const char* const kStorageKeys[] = {"containers_dir", "images_dir", "changes_dir", "log_max_size"};
const char* const kDefaultsKeys[] = {
    "allow_network",  "network",  "host_loopback", "dns",
    "user",           "hostname", "auto_mount",    "auto_mount_workdir",
    "note_discarded", "seccomp",  "subids",        "bind",
    "bind_profiles",  "env",      "env_drop",      "env_keep",
    "tmpfs_size",     "memory",   "pids_limit",    "cpus"};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

// Keys, and so profile names, are [A-Za-z0-9_.-]+; bind_profiles names the same profiles.
bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool is_name(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_name_char);
}

// A bare (unquoted) word is accepted wherever a string is, so `network = host` works as INI
// users write it; it stops at anything that has a meaning in the value syntax. A single quote
// is excluded so that TOML's 'literal' strings fail loudly instead of keeping their quotes;
// '=' is allowed, for `env = [EDITOR=vi]`.
bool is_word_char(char c) {
    return !is_space(c) && c != '"' && c != '\'' && c != '#' && c != ',' && c != '[' && c != ']';
}

size_t skip_space(const std::string& s, size_t i) {
    while (i < s.size() && is_space(s[i])) ++i;
    return i;
}

std::string trim(const std::string& s) {
    size_t b = skip_space(s, 0), e = s.size();
    while (e > b && is_space(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// Damerau (optimal string alignment) distance, so a swapped pair of letters counts as one typo.
size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

// The closest known name within two edits, or "" when none is close enough.
template <size_t N>
std::string nearest(const std::string& word, const char* const (&known)[N]) {
    std::string best;
    size_t best_d = 3;
    for (const char* k : known) {
        size_t d = edit_distance(word, k);
        if (d < best_d) best = k, best_d = d;
    }
    return best;
}

template <size_t N>
bool contains(const char* const (&known)[N], const std::string& word) {
    return std::any_of(std::begin(known), std::end(known),
                       [&](const char* k) { return word == k; });
}

// Errors quote no more of a file than a syntax error needs: never a value, never the rest of
// a line (`--config /etc/shadow` as root must not print a hash), only a key or section name,
// and only when it is short (a long one is more likely text that was never meant as a name).
const size_t kShownName = 32;

std::string name_of(const std::string& n) {
    if (n.size() > kShownName) return "a name of " + std::to_string(n.size()) + " characters";
    return "'" + n + "'";
}

struct Value {
    enum class Kind { String, Word, List };
    Kind kind = Kind::Word;
    std::string text;                // String and Word
    std::vector<std::string> items;  // List; quoted and bare items alike
};

// One `key = value` as the file wrote it; inih gets its index instead of the value.
struct Entry {
    std::string key;
    int line = 0;  // the key's line, also for a list spanning several lines
    Value value;
};

// ", not a list" or ", not a string": what kind of value the file gave, for error messages;
// never the value itself (a bare word: nothing).
std::string not_kind(const Value& v) {
    switch (v.kind) {
    case Value::Kind::List: return ", not a list";
    case Value::Kind::String: return ", not a string";
    case Value::Kind::Word: break;
    }
    return "";
}

// Everything one parse_config call needs. inih is handed a rewritten stream: one short line per
// section header or key, `KEY=INDEX`. The values themselves never pass through inih because its
// distribution builds cut lines at 200 bytes (a joined profile list is longer) and strip `;`
// comments even inside quotes; inih's line numbers count our logical lines, not the file's.
class Parser {
public:
    Parser(const std::string& text, const std::string& file, Config& cfg)
        : text_(text), file_(file), cfg_(cfg) {
        // A UTF-8 byte order mark is harmless; inih would skip it, but it never sees this text.
        if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
    }

    void run() {
        int rc = ini_parse_stream(&Parser::reader, this, &Parser::handler, this);
        if (error_) std::rethrow_exception(error_);
        if (rc > 0) {
            size_t at = static_cast<size_t>(rc) - 1;
            fail(at < emitted_.size() ? emitted_[at] : line_, "syntax error");
        }
        if (rc < 0) throw Error(file_ + ": cannot parse (inih error " + std::to_string(rc) + ")");
    }

private:
    // C callbacks: nothing may be thrown through inih, so the first failure is kept here,
    // inih is stopped by an early end of input, and run() rethrows.
    static char* reader(char* buf, int size, void* self) {
        auto& p = *static_cast<Parser*>(self);
        if (p.error_) return nullptr;
        try {
            std::string out = p.next_logical_line();
            if (out.empty()) return nullptr;
            if (out.size() >= static_cast<size_t>(size)) p.fail(p.line_, "name is too long");
            memcpy(buf, out.c_str(), out.size() + 1);
            return buf;
        } catch (...) {
            p.error_ = std::current_exception();
            return nullptr;
        }
    }

    static int handler(void* self, const char* section, const char* name, const char* value) {
        auto& p = *static_cast<Parser*>(self);
        if (p.error_) return 0;
        // Builds with INI_CALL_HANDLER_ON_NEW_SECTION call us once per section with no name.
        if (!name || !value) return 1;
        try {
            p.apply(section, p.entries_.at(std::stoul(value)));
            return 1;
        } catch (...) {
            p.error_ = std::current_exception();
            return 0;
        }
    }

    [[noreturn]] void fail(int line, const std::string& what) const {
        throw Error(file_ + ":" + std::to_string(line) + ": " + what);
    }

    bool next_physical_line() {
        if (pos_ >= text_.size()) return false;
        size_t nl = text_.find('\n', pos_);
        size_t end = nl == std::string::npos ? text_.size() : nl;
        cur_.assign(text_, pos_, end - pos_);
        pos_ = end + 1;
        ++line_;
        return true;
    }

    bool rest_is_blank(size_t i) const {
        i = skip_space(cur_, i);
        return i == cur_.size() || cur_[i] == '#';
    }

    // The next section header or key, as a line for inih; "" at the end of the file.
    std::string next_logical_line() {
        while (next_physical_line()) {
            size_t i = skip_space(cur_, 0);
            if (i == cur_.size() || cur_[i] == '#' || cur_[i] == ';') continue;
            int start = line_;
            std::string out = cur_[i] == '[' ? section_header(i) : key_value(i);
            emitted_.push_back(start);
            return out;
        }
        return "";
    }

    std::string section_header(size_t i) {
        size_t close = cur_.find(']', i);
        if (close == std::string::npos) fail(line_, "section header is not closed: missing ']'");
        std::string name = trim(cur_.substr(i + 1, close - i - 1));
        const bool showable = is_name(name) && name.size() <= kShownName;
        if (!rest_is_blank(close + 1))
            fail(line_, "unexpected text after " +
                            (showable ? "[" + name + "]" : std::string("the section header")));
        if (!contains(kSections, name)) {
            std::string near = nearest(name, kSections);
            fail(line_,
                 (showable ? "unknown section [" + name + "]" : std::string("unknown section")) +
                     (near.empty() ? "" : " (did you mean [" + near + "]?)"));
        }
        return "[" + name + "]\n";
    }

    std::string key_value(size_t i) {
        size_t k = i;
        while (k < cur_.size() && is_name_char(cur_[k])) ++k;
        if (k == i) fail(line_, "expected KEY = VALUE");
        Entry e;
        e.key = cur_.substr(i, k - i);
        e.line = line_;
        size_t j = skip_space(cur_, k);
        if (j == cur_.size() || cur_[j] != '=')
            fail(line_, "expected KEY = VALUE (no '=' after the first word)");
        j = skip_space(cur_, j + 1);
        if (j == cur_.size() || cur_[j] == '#') fail(line_, name_of(e.key) + " has no value");
        if (cur_[j] == '[') {
            e.value = list(e.key, e.line, ++j);
        } else {
            e.value = scalar(j);
        }
        if (!rest_is_blank(j)) fail(line_, "unexpected text after the value of " + name_of(e.key));
        entries_.push_back(std::move(e));
        return entries_.back().key + "=" + std::to_string(entries_.size() - 1) + "\n";
    }

    // A quoted string or a bare word starting at cur_[i]; i is left just past it.
    Value scalar(size_t& i) {
        Value v;
        char c = cur_[i];
        if (c == '"') {
            v.kind = Value::Kind::String;
            v.text = quoted(i);
        } else if (c == '\'') {
            fail(line_, "strings take double quotes: \"...\"");
        } else if (is_word_char(c)) {
            size_t b = i;
            while (i < cur_.size() && is_word_char(cur_[i])) ++i;
            v.text = cur_.substr(b, i - b);
        } else {
            fail(line_, "unexpected character where a value should be");
        }
        return v;
    }

    std::string quoted(size_t& i) {
        std::string s;
        for (++i; i < cur_.size();) {
            char c = cur_[i++];
            if (c == '"') return s;
            if (c != '\\') {
                s += c;
                continue;
            }
            char esc = i < cur_.size() ? cur_[i++] : '\0';
            if (esc != '"' && esc != '\\')
                fail(line_, "unknown escape in a string (only \\\" and \\\\ are allowed)");
            s += esc;
        }
        fail(line_, "string is not closed: missing '\"'");
    }

    // A line that is not a list item but a new key or section: the list before it was never
    // closed, and the key's line is the one the user needs to look at.
    bool starts_statement(size_t i) const {
        if (cur_[i] == '[') return true;
        size_t k = i;
        while (k < cur_.size() && is_name_char(cur_[k])) ++k;
        k = skip_space(cur_, k);
        return k > i && k < cur_.size() && cur_[k] == '=';
    }

    // The items after '[' up to the matching ']', reading further lines as needed.
    Value list(const std::string& key, int key_line, size_t& i) {
        Value v;
        v.kind = Value::Kind::List;
        bool after_item = false, fresh_line = false;
        for (;;) {
            i = skip_space(cur_, i);
            if (i == cur_.size() || cur_[i] == '#') {
                if (!next_physical_line())
                    fail(key_line, "list " + name_of(key) + " is not closed");
                i = 0;
                fresh_line = true;
                continue;
            }
            if (fresh_line && cur_[i] == ';') {  // a comment line, as anywhere else
                i = cur_.size();
                continue;
            }
            if (fresh_line && starts_statement(i))
                fail(key_line, "list " + name_of(key) + " is not closed");
            fresh_line = false;
            char c = cur_[i];
            if (c == ']') {
                ++i;
                return v;
            }
            if (c == '[') fail(line_, "lists cannot be nested (in " + name_of(key) + ")");
            if (after_item) {
                if (c != ',') fail(line_, "expected ',' or ']' after an item of " + name_of(key));
                ++i;
                after_item = false;
                continue;
            }
            if (c == ',') fail(line_, "unexpected ',' in " + name_of(key) + ": an item is missing");
            v.items.push_back(scalar(i).text);
            after_item = true;
        }
    }

    bool as_bool(const Entry& e) const {
        const Value& v = e.value;
        if (v.kind == Value::Kind::Word && (v.text == "true" || v.text == "false"))
            return v.text == "true";
        fail(e.line, e.key + " takes true or false" + not_kind(v));
    }

    std::string as_string(const Entry& e) const {
        if (e.value.kind == Value::Kind::List) fail(e.line, e.key + " takes a string, not a list");
        return e.value.text;
    }

    std::string as_choice(const Entry& e, std::initializer_list<const char*> choices) const {
        std::string s = as_string(e);
        std::string names;
        size_t n = 0;
        for (const char* c : choices) {
            if (s == c) return s;
            names += (n == 0 ? "" : n + 1 == choices.size() ? " or " : ", ") + std::string(c);
            ++n;
        }
        fail(e.line, e.key + " takes " + names);
    }

    std::vector<std::string> as_list(const Entry& e) const {
        if (e.value.kind != Value::Kind::List)
            fail(e.line, name_of(e.key) + " takes a list like [\"...\"]" + not_kind(e.value));
        return e.value.items;
    }

    // Syntax only, read as parse_bind_spec() reads it (split_bind): whether SRC exists is
    // decided at run time (a missing profile source is skipped, not an error).
    void check_bind_entry(const Entry& e, size_t index, const std::string& where) const {
        const std::string& item = e.value.items[index];
        const std::string entry = "entry " + std::to_string(index + 1) + " of " + where;
        if (item.empty()) fail(e.line, entry + " is empty");
        const BindText t = split_bind(item);
        if (!t.well_formed) fail(e.line, "bad " + entry + ": expected SRC[:DST][:ro|:overlay]");
        if (!t.dst.empty() && t.dst[0] != '/' && !is_tilde_path(t.dst))
            fail(e.line, "bad " + entry + ": DST must be an absolute path");
    }

    template <class T>
    void set(Setting<T>& s, T value, const Entry& e) {
        s.value = std::move(value);
        s.origin = Origin{file_, e.line};
        s.set = true;
    }

    // One branch per key of the file format (kakuri.conf(5)), in one place: longer than most
    // functions, but each branch is a line or two and reads against its key's entry.
    void apply(const std::string& section, const Entry& e) {
        const std::string& k = e.key;
        if (section.empty()) {
            std::string home = contains(kStorageKeys, k)    ? "storage"
                               : contains(kDefaultsKeys, k) ? "defaults"
                                                            : "";
            fail(e.line,
                 name_of(k) + " is outside any section" +
                     (home.empty() ? " (sections are [storage], [defaults], [bind_profiles])"
                                   : " (it belongs under [" + home + "])"));
        }
        if (section == "storage" && !contains(kStorageKeys, k))
            unknown_key(section, e, kStorageKeys);
        if (section == "defaults" && !contains(kDefaultsKeys, k))
            unknown_key(section, e, kDefaultsKeys);

        auto first = seen_.emplace(section + "\n" + k, e.line);
        if (!first.second)
            fail(e.line, "duplicate key " + name_of(k) + " in [" + section +
                             "] (first set on line " + std::to_string(first.first->second) + ")");

        if (section == "storage" && k == "log_max_size") {
            uint64_t n = 0;
            if (!parse_size(as_string(e), n) || n < kMinLogMaxSize)
                fail(e.line,
                     "log_max_size takes a size of at least 1K, like \"4M\" (bytes, or "
                     "K, M, G for KiB, MiB, GiB)" +
                         not_kind(e.value));
            set(cfg_.log_max_size, n, e);
        } else if (section == "storage") {
            std::string dir = as_string(e);
            if (dir.empty()) fail(e.line, k + " must not be empty");
            set(k == "images_dir"    ? cfg_.images_dir
                : k == "changes_dir" ? cfg_.changes_dir
                                     : cfg_.containers_dir,
                dir, e);
        } else if (section == "bind_profiles") {
            Profile p;
            p.entries = as_list(e);
            for (size_t i = 0; i < p.entries.size(); ++i)
                check_bind_entry(e, i, "profile " + name_of(k));
            p.origin = Origin{file_, e.line};
            cfg_.profiles[k] = std::move(p);
        } else if (k == "allow_network") {
            set(cfg_.allow_network, as_bool(e), e);
        } else if (k == "network") {
            set(cfg_.network, as_choice(e, {"none", "host", "private"}), e);
        } else if (k == "host_loopback") {
            set(cfg_.host_loopback, as_bool(e), e);
        } else if (k == "dns") {
            std::string addr = as_string(e);
            if (!addr.empty() && !valid_ip(addr))
                fail(e.line, "dns takes an IPv4 or IPv6 address (\"\": the host's)");
            set(cfg_.dns, addr, e);
        } else if (k == "user") {
            set(cfg_.user, as_bool(e), e);
        } else if (k == "hostname") {
            set(cfg_.hostname, as_string(e), e);
        } else if (k == "auto_mount") {
            set(cfg_.auto_mount, as_choice(e, {"rw", "ro", "off"}), e);
        } else if (k == "auto_mount_workdir") {
            set(cfg_.auto_mount_workdir, as_bool(e), e);
        } else if (k == "note_discarded") {
            set(cfg_.note_discarded, as_bool(e), e);
        } else if (k == "seccomp") {
            set(cfg_.seccomp, as_choice(e, {"default", "off"}), e);
        } else if (k == "subids") {
            set(cfg_.subids, as_bool(e), e);
        } else if (k == "bind") {
            auto items = as_list(e);
            for (size_t i = 0; i < items.size(); ++i) check_bind_entry(e, i, "bind");
            set(cfg_.bind, std::move(items), e);
        } else if (k == "bind_profiles") {
            auto names = as_list(e);
            for (size_t i = 0; i < names.size(); ++i)
                if (!is_name(names[i]))
                    fail(e.line, "entry " + std::to_string(i + 1) +
                                     " of bind_profiles is not a profile name");
            set(cfg_.bind_profiles, std::move(names), e);
        } else if (k == "env") {
            auto vars = as_list(e);
            for (size_t i = 0; i < vars.size(); ++i) {
                size_t eq = vars[i].find('=');
                const std::string entry = "entry " + std::to_string(i + 1) + " of env";
                if (eq == std::string::npos) fail(e.line, entry + " is not NAME=VALUE");
                if (eq == 0) fail(e.line, entry + " has no NAME");
            }
            set(cfg_.env, std::move(vars), e);
        } else if (k == "tmpfs_size") {
            set(cfg_.tmpfs_size, limit_size(e), e);
        } else if (k == "memory") {
            set(cfg_.memory, limit_size(e), e);
        } else if (k == "pids_limit" || k == "cpus") {
            const std::string text = as_string(e);
            uint64_t n = 0;
            const bool pids = k == "pids_limit";
            if (!text.empty() && !(pids ? parse_pids(text, n) : parse_cpus(text, n)))
                fail(e.line,
                     k + " takes " + (pids ? kPidsForm : kCpusForm) + ", or \"\" for no limit");
            set(pids ? cfg_.pids_limit : cfg_.cpus, n, e);
        } else if (k == "env_drop" || k == "env_keep") {
            auto names = as_list(e);
            for (size_t i = 0; i < names.size(); ++i) {
                // Never echo an entry: what follows '=' may be the credential itself.
                const std::string entry = "entry " + std::to_string(i + 1) + " of " + k;
                if (names[i].find('=') != std::string::npos)
                    fail(e.line, entry + " is a NAME, not NAME=VALUE");
                if (!valid_env_pattern(names[i]))
                    fail(e.line, entry + " is not a NAME, *SUFFIX, PREFIX* or *");
            }
            set(k == "env_drop" ? cfg_.env_drop : cfg_.env_keep, std::move(names), e);
        }
    }

    // A limit's size; "" is none (the default), so that a file can undo an earlier one's.
    uint64_t limit_size(const Entry& e) const {
        const std::string text = as_string(e);
        uint64_t n = 0;
        if (!text.empty() && !parse_limit_size(text, n))
            fail(e.line, e.key + " takes " + kSizeForm + ", or \"\" for the default");
        return n;
    }

    template <size_t N>
    [[noreturn]] void unknown_key(const std::string& section, const Entry& e,
                                  const char* const (&known)[N]) const {
        std::string near = nearest(e.key, known);
        fail(e.line, "unknown key " + name_of(e.key) + " in [" + section + "]" +
                         (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }

    const std::string& text_;
    const std::string& file_;
    Config& cfg_;
    size_t pos_ = 0;   // start of the next physical line
    int line_ = 0;     // number of the physical line in cur_
    std::string cur_;  // that line, without its newline
    std::vector<Entry> entries_;
    std::vector<int> emitted_;         // file line of each line handed to inih, in order
    std::map<std::string, int> seen_;  // "section\nkey" -> line, for duplicates in one file
    std::exception_ptr error_;
};

}  // namespace

bool parse_size(const std::string& text, uint64_t& out) {
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == 0 || i > 15) return false;
    uint64_t n = std::stoull(text.substr(0, i));
    std::string unit = text.substr(i);
    int shift = unit.empty()                 ? 0
                : unit == "K" || unit == "k" ? 10
                : unit == "M" || unit == "m" ? 20
                : unit == "G" || unit == "g" ? 30
                                             : -1;
    if (shift < 0 || n > (UINT64_MAX >> 31)) return false;
    out = n << shift;
    return true;
}

std::string format_size(uint64_t n) {
    const char* units[] = {"", "K", "M", "G"};
    int u = 0;
    while (u < 3 && n != 0 && n % 1024 == 0) {
        n /= 1024;
        ++u;
    }
    return std::to_string(n) + units[u];
}

Config default_config() {
    Config c;
    c.containers_dir.value = "~/.local/kakuri/containers";
    c.images_dir.value = "~/.local/kakuri/images";
    c.changes_dir.value = "~/.local/kakuri/changes";
    c.log_max_size.value = 4 << 20;
    c.network.value = "none";
    c.auto_mount.value = "rw";
    c.auto_mount_workdir.value = true;
    c.note_discarded.value = true;
    c.seccomp.value = "default";
    return c;
}

std::string config_string(const std::string& value) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

void parse_config(const std::string& text, const std::string& filename, Config& cfg) {
    // Work on a copy so a file with an error changes nothing.
    Config work = cfg;
    Parser(text, filename, work).run();
    cfg = std::move(work);
}

bool load_config_file(const std::string& path, Config& cfg, bool required) {
    // Relative (--config ./x.toml): from the working directory, whose ancestors count too.
    std::string abs = path;
    if (abs.empty() || abs[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) throw Error("cannot read config file " + path, errno);
        abs = std::string(cwd) + "/" + path;
    }
    // The file and every directory above it must be the caller's or root's (trust.hpp): a
    // config decides what a container can reach. A pipe (`--config <(...)`) is welcome.
    Trusted t = open_trusted(abs, getuid());
    if (!t.fd) {
        if (!required && (t.err == ENOENT || t.err == ENOTDIR)) return false;
        throw Error("cannot read config file " + path, t.err);
    }
    if (S_ISDIR(t.st.st_mode)) throw Error("config file " + path + " is a directory");
    if (!S_ISREG(t.st.st_mode) && !S_ISFIFO(t.st.st_mode))
        throw Error("config file " + path + " is not a regular file");
    UniqueFd fd = reopen(t.fd.get(), O_RDONLY);
    if (!fd) throw Error("cannot read config file " + path, errno);
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error("cannot read config file " + path, errno);
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    parse_config(text, path, cfg);
    return true;
}

ConfigPaths config_paths(const std::string& explicit_path, const char* kakuri_config_env,
                         const char* xdg_config_home, const std::string& home) {
    ConfigPaths p;
    p.system = "/etc/kakuri/config.toml";
    if (!explicit_path.empty()) {
        p.user = explicit_path;
        p.user_required = true;
    } else if (kakuri_config_env && *kakuri_config_env) {
        p.user = kakuri_config_env;
        p.user_required = true;
    } else if (xdg_config_home && xdg_config_home[0] == '/') {
        p.user = std::string(xdg_config_home) + "/container/config.toml";
    } else if (!home.empty()) {
        p.user = home + "/.config/container/config.toml";
    }
    return p;
}

Config load_configs(const std::string& explicit_path, const std::string& home) {
    Config cfg = default_config();
    ConfigPaths paths =
        config_paths(explicit_path, getenv("KAKURI_CONFIG"), getenv("XDG_CONFIG_HOME"), home);
    load_config_file(paths.system, cfg, false);
    if (!paths.user.empty()) load_config_file(paths.user, cfg, paths.user_required);
    return cfg;
}

}  // namespace kakuri
