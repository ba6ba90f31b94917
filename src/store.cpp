// store: the on-disk records of persistent containers.
#include "store.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <sstream>

#include "durable.hpp"
#include "paths.hpp"
#include "supervise.hpp"
#include "trust.hpp"

namespace kakuri {

namespace {

const char* const kRecordFile = "container";
const char* const kStateFile = "state";
const char* const kLockFile = "lock";
const char* const kNetLockFile = "net";
const char* const kLogFile = "log";
const char* const kPrevLogFile = "log.1";
const char* const kExitFile = "exit";

// Values in the record are one per line: a newline would split one in two.
void check_line(const std::string& v, const std::string& what) {
    if (v.find('\n') != std::string::npos) throw Error(what + " must not contain a newline");
}

std::vector<std::pair<std::string, std::string>> key_values(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        size_t sp = line.find(' ');
        out.emplace_back(line.substr(0, sp), sp == std::string::npos ? "" : line.substr(sp + 1));
    }
    return out;
}

int64_t to_int(const std::string& v, const std::string& what) {
    try {
        size_t used = 0;
        long long n = std::stoll(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return n;
    } catch (const std::exception&) {
        throw Error("bad " + what + " '" + v + "' in the container's record");
    }
}

uint64_t to_uint(const std::string& v, const std::string& what) {
    try {
        size_t used = 0;
        if (v.empty() || v[0] == '-') throw std::invalid_argument(v);
        unsigned long long n = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return n;
    } catch (const std::exception&) {
        throw Error("bad " + what + " '" + v + "' in the container's state");
    }
}

// Written beside, then renamed over: a reader sees the old file or the new one, whole.
void write_atomically(int dirfd, const std::string& where, const std::string& file,
                      const std::string& data) {
    std::string tmp = "." + file + ".tmp";
    UniqueFd fd(
        ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw Error("write " + where + "/" + tmp, errno);
    check(fchmod(fd.get(), 0600), "write " + where + "/" + tmp);
    if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
        throw Error("write " + where + "/" + tmp, errno);
    check(fsync(fd.get()), "sync " + where + "/" + tmp);
    check(renameat(dirfd, tmp.c_str(), dirfd, file.c_str()), "rename " + where + "/" + tmp);
}

// A file kakuri made in a container's directory, opened (flags) only when it is a regular
// file nobody but the caller or root can have written. Invalid when there is none.
UniqueFd open_checked(int dirfd, const char* name, const std::string& path, uid_t caller,
                      int flags) {
    UniqueFd o(::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!o) {
        if (errno == ENOENT) return {};
        throw Error("open " + path, errno);
    }
    struct stat st;
    check(fstat(o.get(), &st), "open " + path);
    if (S_ISLNK(st.st_mode)) throw Refusal("refusing " + path + ": a symlink");
    if (!S_ISREG(st.st_mode)) throw Refusal("refusing " + path + ": not a regular file");
    std::string why = distrust(st, caller, TrustAs::File);
    if (!why.empty()) throw Refusal("refusing " + path + ": " + why);
    UniqueFd fd = reopen(o.get(), flags);
    if (!fd) throw Error("open " + path, errno);
    return fd;
}

// The whole of such a file; false when there is none.
bool read_checked(int dirfd, const char* name, const std::string& path, uid_t caller,
                  std::string& out) {
    UniqueFd fd = open_checked(dirfd, name, path, caller, O_RDONLY);
    if (!fd) return false;
    if (!read_all(fd.get(), out)) throw Error("read " + path, errno);
    return true;
}

Error no_such(const std::string& name) {
    return Error("no container named '" + name + "' (see: kakuri list)");
}

// Hidden entries of an unfinished create or remove: ".new-PID-START-NAME",
// ".trash-PID-START-NAME", named after the process at work (pid and start time).
const char* const kNewPrefix = ".new-";
const char* const kTrashPrefix = ".trash-";

std::string process_tag() {
    pid_t pid = getpid();
    return std::to_string(pid) + "-" + std::to_string(process_start_time(pid));
}

// Is the process a leftover is named after still at work? (A name of another form has no
// known maker: only its lock can say.)
bool maker_alive(const std::string& entry, size_t prefix) {
    const char* p = entry.c_str() + prefix;
    char* end = nullptr;
    unsigned long long pid = strtoull(p, &end, 10);
    if (end == p || *end != '-' || pid == 0 || pid > INT_MAX) return false;
    const char* q = end + 1;
    unsigned long long start = strtoull(q, &end, 10);
    if (end == q || *end != '-') return false;
    return process_start_time(static_cast<pid_t>(pid)) == start;
}

std::vector<std::string> entries(int dirfd, const std::string& where) {
    UniqueFd again(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = again ? fdopendir(again.get()) : nullptr;
    if (!d) throw Error("read " + where, errno);
    again.release();
    std::vector<std::string> out;
    while (dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            out.emplace_back(e->d_name);
    }
    closedir(d);
    return out;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

}  // namespace

bool valid_container_name(const std::string& n) {
    return valid_store_name(n);
}

void check_container_name(const std::string& n) {
    if (!valid_container_name(n))
        throw Error("bad container name " + shown(n) +
                    ": use letters, digits, '_', '.' and '-', starting with a letter or digit, "
                    "at most 64 characters");
}

std::string format_record(const Record& r) {
    check_line(r.root, "the root path");
    std::string out = "kakuri-container " + std::to_string(r.version) + "\n";
    out += "name " + r.name + "\n";
    out += "created " + std::to_string(r.created) + "\n";
    out += "network " + r.network + "\n";
    out += "root " + r.root + "\n";
    check_line(r.cwd, "the working directory");
    out += "cwd " + r.cwd + "\n";
    for (const auto& a : r.args) {
        check_line(a, "an option");
        out += "arg " + a + "\n";
    }
    for (const auto& [k, v] : r.spec) {
        // durable.cpp's values are encoded words; a key is one of its names.
        if (k.empty() || k.find_first_of(" \n") != std::string::npos)
            throw Error("bad record key '" + k + "'");
        check_line(v, "a recorded value");
        out += k + " " + v + "\n";
    }
    return out;
}

namespace {

// The recorded option words, each variable's value hidden: -e K=V, --env=K=V, -qeK=V and a
// bare K=V (the value of -e, or of --env and its abbreviations) show as K=... . Any other
// operand with a '=' is hidden the same way: over-hiding a path is better than showing a value.
std::vector<std::string> options_shown(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    auto hide_after = [](const std::string& w, size_t eq) {
        return eq == std::string::npos ? w : w.substr(0, eq + 1) + "...";
    };
    for (const auto& w : args) {
        if (w.rfind("--", 0) == 0) {
            size_t eq = w.find('=');
            std::string name = w.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            bool env = !name.empty() && std::string("env").rfind(name, 0) == 0;
            out.push_back(env && eq != std::string::npos ? hide_after(w, w.find('=', eq + 1)) : w);
        } else if (w.size() > 1 && w[0] == '-') {
            // Short options bundled: flags, then -e or -w, whose value may follow in the word.
            size_t i = 1;
            while (i < w.size() && (w[i] == 'v' || w[i] == 'q' || w[i] == 'h')) ++i;
            out.push_back(i < w.size() && w[i] == 'e' ? hide_after(w, w.find('=', i)) : w);
        } else {
            out.push_back(hide_after(w, w.find('=')));
        }
    }
    return out;
}

}  // namespace

namespace {

// A word as a shell would need it: as it is when it needs no quoting, else in single quotes.
std::string shell_word(const std::string& w) {
    bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](unsigned char c) {
        return std::isalnum(c) || std::strchr("_@%+=:,./-~", c);
    });
    if (plain) return w;
    std::string out = "'";
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

bool is_list_key(const std::string& k) {
    return k.size() > 2 && k.compare(k.size() - 2, 2, "[]") == 0;
}

}  // namespace

Fields record_fields(const Record& r) {
    Fields f = {{"name", r.name},
                {"created", iso_time(r.created)},
                {"network", r.network},
                {"root", r.root},
                {"cwd", r.cwd}};
    if (r.version == 1) {
        // kakuri 0.1's record: the run options as typed (converted at the next start).
        std::string words;
        for (const auto& w : options_shown(r.args))
            words += (words.empty() ? "" : " ") + shell_word(w);
        f.emplace_back("options", words);
        return f;
    }
    // What create decided: identity and id maps, network, hostname, root, system directories,
    // home, binds, capabilities, filter, the environment rules (durable.hpp).
    Fields decided = shown_fields(r.spec);
    f.insert(f.end(), decided.begin(), decided.end());
    return f;
}

std::string format_fields_text(const Fields& f) {
    std::string out;
    for (const auto& [k, v] : f)  // a list: a line per item
        out += (is_list_key(k) ? k.substr(0, k.size() - 2) : k) + ": " +
               (has_control(v) ? shown(v) : v) + "\n";
    return out;
}

std::string format_fields_json(const Fields& f) {
    std::vector<std::string> keys;
    std::map<std::string, std::vector<std::string>> values;
    for (const auto& [k, v] : f) {
        if (!values.count(k)) keys.push_back(k);
        values[k].push_back(v);
    }
    std::string out = "{";
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string& k = keys[i];
        const bool list = is_list_key(k);
        const bool number = k == "pid" || k == "exit_status";
        out += std::string(i ? ",\n  " : "\n  ") +
               json_string(list ? k.substr(0, k.size() - 2) : k) + ": ";
        std::vector<std::string> items;
        for (const auto& v : values[k]) items.push_back(number ? v : json_string(v));
        if (list) {
            out += "[";
            for (size_t j = 0; j < items.size(); ++j) out += (j ? ", " : "") + items[j];
            out += "]";
        } else {
            out += items.back();
        }
    }
    return out + "\n}\n";
}

Record parse_record(const std::string& text) {
    Record r;
    auto kv = key_values(text);
    if (kv.empty() || kv[0].first != "kakuri-container")
        throw Error("not a kakuri container record");
    r.version = static_cast<int>(to_int(kv[0].second, "version"));
    if (r.version != 1 && r.version != 2)
        throw Error("container record version " + kv[0].second +
                    " is newer than this kakuri (upgrade kakuri to use this container)");
    for (size_t i = 1; i < kv.size(); ++i) {
        const auto& [k, v] = kv[i];
        if (k == "name")
            r.name = v;
        else if (k == "created")
            r.created = to_int(v, "created");
        else if (k == "network")
            r.network = v;
        else if (k == "root")
            r.root = v;
        else if (k == "cwd")
            r.cwd = v;
        else if (k == "arg" && r.version == 1)
            r.args.push_back(v);
        else if (r.version == 2)
            r.spec.emplace_back(k, v);  // durable.cpp says what it knows
        else
            throw Error("unknown field '" + k + "' in the container's record");
    }
    return r;
}

namespace {

std::string format_namespaces(const Namespaces& ns) {
    std::string out;
    for (int i = 0; i < Namespaces::kCount; ++i)
        if (ns.ino[i])
            out +=
                std::string("ns_") + Namespaces::kNames[i] + " " + std::to_string(ns.ino[i]) + "\n";
    return out;
}

}  // namespace

std::string format_state(const State& s) {
    return "kakuri-state " + std::to_string(s.version) + "\npid " + std::to_string(s.pid) +
           "\nstart_time " + std::to_string(s.start_time) + "\npidns " + std::to_string(s.pidns) +
           "\nuserns " + (s.userns ? "1" : "0") + "\nstarted " + (s.started ? "1" : "0") + "\n" +
           (s.started_at ? "started_at " + std::to_string(s.started_at) + "\n" : "") +
           (s.detached ? "detached 1\n" : "") + format_namespaces(s.ns);
}

State parse_state(const std::string& text) {
    State s;
    auto kv = key_values(text);
    if (kv.empty() || kv[0].first != "kakuri-state") throw Error("not a kakuri state file");
    s.version = static_cast<int>(to_int(kv[0].second, "version"));
    if (s.version != 1) throw Error("state version " + kv[0].second + " is newer than this kakuri");
    for (size_t i = 1; i < kv.size(); ++i) {
        const auto& [k, v] = kv[i];
        if (k == "pid")
            s.pid = static_cast<pid_t>(to_int(v, "pid"));
        else if (k == "start_time")
            s.start_time = to_uint(v, "start_time");
        else if (k == "pidns")
            s.pidns = to_uint(v, "pidns");
        else if (k == "userns")
            s.userns = v == "1";
        else if (k == "started")
            s.started = v == "1";
        else if (k == "started_at")
            s.started_at = to_int(v, "started_at");
        else if (k == "detached")
            s.detached = v == "1";
        else if (k.compare(0, 3, "ns_") == 0) {
            for (int n = 0; n < Namespaces::kCount; ++n)
                if (k.substr(3) == Namespaces::kNames[n]) s.ns.ino[n] = to_uint(v, k);
        }
    }
    return s;
}

std::string time_ago(int64_t then, int64_t now) {
    int64_t d = now > then ? now - then : 0;
    struct Unit {
        int64_t seconds;
        const char* name;
    };
    const Unit units[] = {{365 * 86400, "year"}, {30 * 86400, "month"}, {7 * 86400, "week"},
                          {86400, "day"},        {3600, "hour"},        {60, "minute"},
                          {1, "second"}};
    for (const auto& u : units) {
        if (d >= u.seconds || u.seconds == 1) {
            int64_t n = d / u.seconds;
            return std::to_string(n) + " " + u.name + (n == 1 ? "" : "s") + " ago";
        }
    }
    return "";
}

const char* status_name(Status s) {
    switch (s) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Stopped: return "stopped";
    }
    return "?";
}

namespace {

// The STATUS column: how a stopped container ended, as `podman ps -a` says it.
std::string status_text(const ListEntry& e, int64_t now) {
    if (e.status == Status::Stopped && e.exit.status >= 0)
        return "exited (" + std::to_string(e.exit.status) + ") " + time_ago(e.exit.finished, now);
    return status_name(e.status);
}

}  // namespace

std::string format_list_table(const std::vector<ListEntry>& entries, int64_t now) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "STATUS", "NETWORK", "ROOT", "CREATED"}};
    for (const auto& e : entries)
        rows.push_back({e.name, status_text(e, now), e.network, e.root, iso_time(e.created)});
    std::vector<size_t> width(5, 0);
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    std::string out;
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

std::string format_list_json(const std::vector<ListEntry>& entries) {
    std::string out = "[";
    for (size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        out += i ? ",\n  " : "\n  ";
        const bool ended = e.status == Status::Stopped && e.exit.status >= 0;
        out += "{\"name\": " + json_string(e.name) + ", \"status\": \"" + status_name(e.status) +
               "\", \"network\": " + json_string(e.network) + ", \"root\": " + json_string(e.root) +
               ", \"created\": \"" + iso_time(e.created) + "\", \"started\": " +
               (e.started ? "\"" + iso_time(e.started) + "\"" : std::string("null")) +
               ", \"exit_code\": " + (ended ? std::to_string(e.exit.status) : "null") +
               ", \"finished\": " +
               (ended ? "\"" + iso_time(e.exit.finished) + "\"" : std::string("null")) + "}";
    }
    return out + (entries.empty() ? "]\n" : "\n]\n");
}

bool state_is_live(const State& s) {
    return s.pid > 0 && s.start_time != 0 && process_start_time(s.pid) == s.start_time;
}

Store::Store(std::string dir) : given_(dir), caller_(getuid()), dir_(std::move(dir)) {
    open_dir();
}

void Store::open_dir() const {
    if (fd_) return;
    Trusted t = open_trusted_dir(given_, caller_, "containers_dir");
    if (!t.fd) return;  // made by the first create
    fd_ = std::move(t.fd);
    dir_ = t.path;
}

int Store::fd() const {
    open_dir();
    return fd_.get();
}

// Invalid when there is no such container; throws when what is there may not be trusted.
UniqueFd Store::open_container(const std::string& name) const {
    check_container_name(name);
    if (fd() < 0) return {};
    const std::string p = path(name);
    UniqueFd o(::openat(fd_.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!o) {
        if (errno == ENOENT) return {};
        throw Error("open " + p, errno);
    }
    struct stat st;
    check(fstat(o.get(), &st), "open " + p);
    // kakuri makes it a directory; a link was put there to send kakuri somewhere else.
    if (S_ISLNK(st.st_mode))
        throw Refusal("refusing " + p + ": a symlink, not a container's directory");
    if (!S_ISDIR(st.st_mode)) return {};
    std::string why = distrust(st, caller_, TrustAs::Directory);
    if (!why.empty()) throw Refusal("refusing " + p + ": " + why);
    UniqueFd d = reopen(o.get(), O_RDONLY | O_DIRECTORY);
    if (!d) throw Error("open " + p, errno);
    return d;
}

void Store::create(const Record& r, const std::vector<std::string>& subdirs) {
    check_container_name(r.name);
    if (fd() < 0) {
        Trusted t = make_trusted_dir(given_, caller_);
        fd_ = std::move(t.fd);
        dir_ = t.path;
    }
    struct stat st;
    if (fstatat(fd_.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        throw Error("container '" + r.name + "' already exists");
    const std::string tmp = kNewPrefix + process_tag() + "-" + r.name;
    if (mkdirat(fd_.get(), tmp.c_str(), 0700) != 0) throw Error("create " + path(tmp), errno);
    try {
        UniqueFd t(
            ::openat(fd_.get(), tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!t) throw Error("open " + path(tmp), errno);
        // Held until the rename; a cleaner that cannot see this process (another PID
        // namespace) still leaves it alone.
        check(flock(t.get(), LOCK_EX | LOCK_NB), "lock " + path(tmp));
        check(fchmod(t.get(), 0700), "create " + path(tmp));
        for (const auto& d : subdirs) {
            for (size_t i = 0; i <= d.size(); ++i) {
                if (i < d.size() && d[i] != '/') continue;
                std::string sub = d.substr(0, i);
                if (mkdirat(t.get(), sub.c_str(), 0755) != 0 && errno != EEXIST)
                    throw Error("create " + path(tmp) + "/" + sub, errno);
            }
        }
        write_atomically(t.get(), path(tmp), kRecordFile, format_record(r));
        UniqueFd lockf(::openat(t.get(), kLockFile,
                                O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!lockf) throw Error("create " + path(tmp) + "/" + kLockFile, errno);
        // rename(2) of a directory onto an existing non-empty one fails: of
        // several creates of one name, exactly one wins.
        if (renameat(fd_.get(), tmp.c_str(), fd_.get(), r.name.c_str()) != 0) {
            int err = errno;
            if (err == EEXIST || err == ENOTEMPTY || err == ENOTDIR)
                throw Error("container '" + r.name + "' already exists");
            throw Error("create container " + r.name, err);
        }
    } catch (...) {
        try {
            remove_tree_at(fd_.get(), tmp);
        } catch (const Error&) {
        }
        throw;
    }
}

bool Store::exists(const std::string& name) const {
    if (fd() < 0 || !valid_container_name(name)) return false;
    UniqueFd d(::openat(fd_.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    return d && fstatat(d.get(), kRecordFile, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

Record Store::record(const std::string& name) const {
    UniqueFd d = open_container(name);
    std::string text;
    if (!d || !read_checked(d.get(), kRecordFile, path(name) + "/" + kRecordFile, caller_, text))
        throw no_such(name);
    return parse_record(text);
}

void Store::write_record(const std::string& name, const Record& r) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    write_atomically(d.get(), path(name), kRecordFile, format_record(r));
}

std::vector<std::string> Store::names() const {
    std::vector<std::string> out;
    if (fd() < 0) return out;
    for (const auto& n : entries(fd_.get(), dir_)) {
        if (!valid_container_name(n)) continue;
        // Checked, not skipped: a container that is not to be trusted is an attack to see.
        UniqueFd d = open_container(n);
        struct stat st;
        if (d && fstatat(d.get(), kRecordFile, &st, AT_SYMLINK_NOFOLLOW) == 0) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

UniqueFd Store::lock(const std::string& name) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    UniqueFd fd = open_checked(d.get(), kLockFile, path(name) + "/" + kLockFile, caller_, O_RDWR);
    if (!fd) throw no_such(name);
    check(flock(fd.get(), LOCK_EX), "lock container " + name);
    // Removed (renamed away) while we waited for the lock?
    struct stat was, now;
    if (fstat(d.get(), &was) != 0 ||
        fstatat(fd_.get(), name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 ||
        was.st_dev != now.st_dev || was.st_ino != now.st_ino)
        throw no_such(name);
    return fd;
}

State Store::state(const std::string& name) const {
    UniqueFd d = open_container(name);
    std::string text;
    if (!d || !read_checked(d.get(), kStateFile, path(name) + "/" + kStateFile, caller_, text))
        return State{};
    return parse_state(text);
}

void Store::write_state(const std::string& name, const State& s) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    write_atomically(d.get(), path(name), kStateFile, format_state(s));
}

Status Store::status(const std::string& name, State* live) const {
    State s = state(name);
    if (state_is_live(s)) {
        if (live) *live = s;
        return Status::Running;
    }
    return s.started ? Status::Stopped : Status::Created;
}

namespace {

// A run's file in a container's directory, checked as opened (see open_checked), made (mode
// 0600, never through a link) when missing. Its init holds these files, so a program inside
// may have changed one (chmod, chown through /proc/1/fd): such a one is replaced, not refused,
// so that a container cannot keep itself from being started.
UniqueFd open_or_make(int dirfd, const char* name, const std::string& path, uid_t caller,
                      int flags) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        UniqueFd fd;
        try {
            fd = open_checked(dirfd, name, path, caller, flags);
        } catch (const Refusal&) {
            if (unlinkat(dirfd, name, 0) != 0) throw;
        }
        if (fd) return fd;
        fd.reset(::openat(dirfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (fd) return fd;
        if (errno != EEXIST) throw Error("create " + path, errno);
    }
    throw Error("create " + path, EEXIST);
}

}  // namespace

UniqueFd Store::net_lock(const std::string& name) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    return open_or_make(d.get(), kNetLockFile, path(name) + "/" + kNetLockFile, caller_, O_RDWR);
}

void Store::wait_net(const std::string& name) const {
    UniqueFd d = open_container(name);
    if (!d) return;
    UniqueFd fd =
        open_checked(d.get(), kNetLockFile, path(name) + "/" + kNetLockFile, caller_, O_RDWR);
    if (fd) check(flock(fd.get(), LOCK_EX), "wait for the network of container " + name);
}

Store::RunFiles Store::open_run_files(const std::string& name, bool with_log) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    const std::string dir = path(name) + "/";
    RunFiles f;
    if (with_log) {
        f.log = open_or_make(d.get(), kLogFile, dir + kLogFile, caller_, O_RDWR | O_APPEND);
        f.prev = open_or_make(d.get(), kPrevLogFile, dir + kPrevLogFile, caller_, O_RDWR);
    }
    f.exit = open_or_make(d.get(), kExitFile, dir + kExitFile, caller_, O_RDWR);
    return f;
}

Store::LogFiles Store::open_log(const std::string& name) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    const std::string dir = path(name) + "/";
    LogFiles f;
    f.log = open_checked(d.get(), kLogFile, dir + kLogFile, caller_, O_RDONLY);
    f.prev = open_checked(d.get(), kPrevLogFile, dir + kPrevLogFile, caller_, O_RDONLY);
    return f;
}

bool Store::exit_record(const std::string& name, ExitRecord& out) const {
    UniqueFd d = open_container(name);
    if (!d) return false;
    // A file a program inside may have changed (see open_or_make): one it made untrusted is
    // no record, never a reason for list or inspect to refuse the whole store.
    UniqueFd fd;
    try {
        fd = open_checked(d.get(), kExitFile, path(name) + "/" + kExitFile, caller_, O_RDONLY);
    } catch (const Error&) {
        return false;
    }
    if (!fd) return false;
    // Init's file, so possibly written from inside: a record is small, the rest is not read.
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) < 0 && errno == EINTR) {
    }
    if (n <= 0 || static_cast<size_t>(n) == sizeof buf) return false;
    return parse_exit(std::string(buf, static_cast<size_t>(n)), out);
}

void Store::write_exit(const std::string& name, const ExitRecord& e) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    write_atomically(d.get(), path(name), kExitFile, format_exit(e));
}

Store::Taken Store::take(const std::string& name) const {
    UniqueFd d = open_container(name);
    if (!d) throw no_such(name);
    // The directory's own lock (not its lock file's) marks it as at work, from before the
    // rename: leftovers() passes over a locked one.
    check(flock(d.get(), LOCK_EX), "lock " + path(name));
    Taken t;
    t.name = kTrashPrefix + process_tag() + "-" + name;
    t.lock = std::move(d);
    if (renameat(fd_.get(), name.c_str(), fd_.get(), t.name.c_str()) != 0) {
        if (errno == ENOENT) throw no_such(name);
        throw Error("remove container " + name, errno);
    }
    return t;
}

void Store::remove(const std::string& name) const {
    Taken t = take(name);
    remove_tree_at(fd_.get(), t.name);
}

std::vector<Store::Taken> Store::leftovers() const {
    std::vector<Taken> out;
    if (fd() < 0) return out;
    for (const auto& n : entries(fd_.get(), dir_)) {
        size_t prefix = n.rfind(kNewPrefix, 0) == 0     ? strlen(kNewPrefix)
                        : n.rfind(kTrashPrefix, 0) == 0 ? strlen(kTrashPrefix)
                                                        : 0;
        if (!prefix || maker_alive(n, prefix)) continue;
        UniqueFd d(::openat(fd_.get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) {
            if (errno == ENOTDIR || errno == ELOOP) unlinkat(fd_.get(), n.c_str(), 0);
            continue;
        }
        if (flock(d.get(), LOCK_EX | LOCK_NB) != 0) continue;  // at work after all
        // Still there under that name now that it is ours (not deleted by another cleaner)?
        struct stat a, b;
        if (fstat(d.get(), &a) != 0 ||
            fstatat(fd_.get(), n.c_str(), &b, AT_SYMLINK_NOFOLLOW) != 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino)
            continue;
        Taken t;
        t.name = n;
        t.lock = std::move(d);
        try {
            std::string text;
            if (read_checked(t.lock.get(), kRecordFile, path(n) + "/" + kRecordFile, caller_,
                             text)) {
                t.record = parse_record(text);
                t.has_record = true;
            }
        } catch (const Error&) {
        }
        out.push_back(std::move(t));
    }
    return out;
}

namespace {

// One directory on the way down: how to know it again on the way back up through "..",
// and its subdirectories still to go into. Memory, not fds, grows with the depth.
struct Level {
    std::string name;  // in its parent
    dev_t dev;
    ino_t ino;
    std::vector<std::string> subdirs;
};

bool is_mount_root(int fd) {
#ifdef STATX_ATTR_MOUNT_ROOT
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, 0, &sx) != 0) return false;
    return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
#else
    (void)fd;
    return false;
#endif
}

// Directory name in parent, opened for reading; made readable first when a program made it
// unreadable (chmod 000). Invalid: it is gone, or it is not a directory (then it is unlinked).
UniqueFd open_for_removal(int parent, const std::string& name, struct stat& st) {
    UniqueFd p(::openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
    if (!p) {
        if (errno == ENOENT) return {};
        if (errno != ENOTDIR) throw Error("open " + name, errno);
        if (unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT)
            throw Error("remove " + name, errno);
        return {};
    }
    check(fstat(p.get(), &st), "stat " + name);
    if (is_mount_root(p.get())) throw Error("remove " + name + ": it is a mount point");
    // Through the fd (chmod(2) of /proc/self/fd/N): the directory opened, never a link's target.
    // If it fails, opening it below says why.
    if ((st.st_mode & 0700) != 0700 && chmod(fd_path(p.get()).c_str(), 0700) != 0) {
    }
    UniqueFd d(::openat(p.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) throw Error("open " + name, errno);
    return d;
}

// Unlinks every entry of an open directory but its subdirectories, which it returns.
std::vector<std::string> clear_files(int dir, const std::string& name) {
    UniqueFd again(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = again ? fdopendir(again.get()) : nullptr;
    if (!d) throw Error("read " + name, errno);
    again.release();
    std::vector<std::pair<std::string, unsigned char>> found;
    while (dirent* e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            found.emplace_back(e->d_name, e->d_type);
    closedir(d);
    std::vector<std::string> subdirs;
    for (auto& [n, type] : found) {
        if (type == DT_DIR) {
            subdirs.push_back(std::move(n));
        } else if (unlinkat(dir, n.c_str(), 0) != 0 && errno != ENOENT) {
            if (errno != EISDIR) throw Error("remove " + n, errno);
            subdirs.push_back(std::move(n));  // the file system did not give its type
        }
    }
    return subdirs;
}

}  // namespace

void remove_tree_at(int dirfd, const std::string& name) {
    struct stat st;
    UniqueFd cur = open_for_removal(dirfd, name, st);
    if (!cur) return;
    std::vector<Level> levels;
    levels.push_back({name, st.st_dev, st.st_ino, clear_files(cur.get(), name)});
    while (!levels.empty()) {
        if (!levels.back().subdirs.empty()) {
            std::string child = std::move(levels.back().subdirs.back());
            levels.back().subdirs.pop_back();
            UniqueFd c = open_for_removal(cur.get(), child, st);
            if (!c) continue;
            std::vector<std::string> subdirs = clear_files(c.get(), child);
            levels.push_back({std::move(child), st.st_dev, st.st_ino, std::move(subdirs)});
            cur = std::move(c);
            continue;
        }
        std::string done = std::move(levels.back().name);
        levels.pop_back();
        if (levels.empty()) {
            cur.reset();
            if (unlinkat(dirfd, done.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
                throw Error("remove " + done, errno);
            break;
        }
        // Back up through "..": the directory we came down from, or something moved it.
        UniqueFd up(::openat(cur.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!up || fstat(up.get(), &st) != 0)
            throw Error("open the directory above " + done, errno);
        if (st.st_dev != levels.back().dev || st.st_ino != levels.back().ino)
            throw Error("remove " + name + ": a directory in it moved while it was being removed");
        cur = std::move(up);
        if (unlinkat(cur.get(), done.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
            throw Error("remove " + done, errno);
    }
}

}  // namespace kakuri
