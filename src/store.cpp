// store: the on-disk records of persistent containers.
#include "store.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace kakuri {

namespace {

const char* const kRecordFile = "container";
const char* const kStateFile = "state";
const char* const kLockFile = "lock";

// Values in the record are one per line: a newline would split one in two.
void check_line(const std::string& v, const std::string& what) {
    if (v.find('\n') != std::string::npos)
        throw Error(what + " must not contain a newline");
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

void write_atomically(const std::string& dir, const std::string& file, const std::string& data) {
    std::string tmp = dir + "/." + file + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw Error("write " + tmp, errno);
    if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
        throw Error("write " + tmp, errno);
    check(fsync(fd.get()), "sync " + tmp);
    check(rename(tmp.c_str(), (dir + "/" + file).c_str()), "rename " + tmp);
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

std::string iso_time(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

bool valid_container_name(const std::string& n) {
    if (n.empty() || n.size() > 64 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
    return std::all_of(n.begin(), n.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '.' || c == '-';
    });
}

void check_container_name(const std::string& n) {
    if (!valid_container_name(n))
        throw Error("bad container name '" + n +
                    "': use letters, digits, '_', '.' and '-', starting with a letter or digit, "
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
    return out;
}

Record parse_record(const std::string& text) {
    Record r;
    auto kv = key_values(text);
    if (kv.empty() || kv[0].first != "kakuri-container")
        throw Error("not a kakuri container record");
    r.version = static_cast<int>(to_int(kv[0].second, "version"));
    if (r.version != 1)
        throw Error("container record version " + kv[0].second + " is newer than this kakuri");
    for (size_t i = 1; i < kv.size(); ++i) {
        const auto& [k, v] = kv[i];
        if (k == "name") r.name = v;
        else if (k == "created") r.created = to_int(v, "created");
        else if (k == "network") r.network = v;
        else if (k == "root") r.root = v;
        else if (k == "cwd") r.cwd = v;
        else if (k == "arg") r.args.push_back(v);
        else throw Error("unknown field '" + k + "' in the container's record");
    }
    return r;
}

namespace {

std::string format_namespaces(const Namespaces& ns) {
    std::string out;
    for (int i = 0; i < Namespaces::kCount; ++i)
        if (ns.ino[i]) out += std::string("ns_") + Namespaces::kNames[i] + " " + std::to_string(ns.ino[i]) + "\n";
    return out;
}

}  // namespace

std::string format_state(const State& s) {
    return "kakuri-state " + std::to_string(s.version) + "\npid " + std::to_string(s.pid) +
           "\nstart_time " + std::to_string(s.start_time) + "\npidns " + std::to_string(s.pidns) +
           "\nuserns " + (s.userns ? "1" : "0") + "\nstarted " + (s.started ? "1" : "0") + "\n" +
           format_namespaces(s.ns);
}

State parse_state(const std::string& text) {
    State s;
    auto kv = key_values(text);
    if (kv.empty() || kv[0].first != "kakuri-state") throw Error("not a kakuri state file");
    s.version = static_cast<int>(to_int(kv[0].second, "version"));
    if (s.version != 1) throw Error("state version " + kv[0].second + " is newer than this kakuri");
    for (size_t i = 1; i < kv.size(); ++i) {
        const auto& [k, v] = kv[i];
        if (k == "pid") s.pid = static_cast<pid_t>(to_int(v, "pid"));
        else if (k == "start_time") s.start_time = to_uint(v, "start_time");
        else if (k == "pidns") s.pidns = to_uint(v, "pidns");
        else if (k == "userns") s.userns = v == "1";
        else if (k == "started") s.started = v == "1";
        else if (k.compare(0, 3, "ns_") == 0) {
            for (int n = 0; n < Namespaces::kCount; ++n)
                if (k.substr(3) == Namespaces::kNames[n]) s.ns.ino[n] = to_uint(v, k);
        }
    }
    return s;
}

const char* status_name(Status s) {
    switch (s) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Stopped: return "stopped";
    }
    return "?";
}

std::string format_list_table(const std::vector<ListEntry>& entries) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "STATUS", "NETWORK", "ROOT", "CREATED"}};
    for (const auto& e : entries)
        rows.push_back({e.name, status_name(e.status), e.network, e.root, iso_time(e.created)});
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
        out += "{\"name\": " + json_string(e.name) + ", \"status\": \"" + status_name(e.status) +
               "\", \"network\": " + json_string(e.network) + ", \"root\": " + json_string(e.root) +
               ", \"created\": \"" + iso_time(e.created) + "\"}";
    }
    return out + (entries.empty() ? "]\n" : "\n]\n");
}

uint64_t process_start_time(pid_t pid) {
    std::string stat;
    if (!read_file("/proc/" + std::to_string(pid) + "/stat", stat)) return 0;
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream in(stat.substr(paren + 2));
    std::string field;
    // A zombie is gone: a detached init's parent may reap it late, or never.
    char state = paren + 2 < stat.size() ? stat[paren + 2] : '?';
    if (state == 'Z' || state == 'X' || state == 'x') return 0;
    // Fields after the name start at 3 (state); start time is field 22.
    for (int i = 3; i <= 22 && in >> field; ++i)
        if (i == 22) return std::stoull(field);
    return 0;
}

bool state_is_live(const State& s) {
    return s.pid > 0 && s.start_time != 0 && process_start_time(s.pid) == s.start_time;
}

Store::Store(std::string dir) : dir_(std::move(dir)) {}

void Store::create(const Record& r, const std::vector<std::string>& subdirs) {
    check_container_name(r.name);
    // Make containers_dir (and its parents) as needed, private to the user.
    for (size_t i = 1; i <= dir_.size(); ++i) {
        if (i == dir_.size() || dir_[i] == '/') {
            std::string p = dir_.substr(0, i);
            if (mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
                throw Error("create " + p, errno);
        }
    }
    if (exists(r.name)) throw Error("container '" + r.name + "' already exists");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/.new-%s-XXXXXX", dir_.c_str(), r.name.c_str());
    if (!mkdtemp(tmpl)) throw Error("create a directory in " + dir_, errno);
    std::string tmp = tmpl;
    try {
        chmod(tmp.c_str(), 0700);
        for (const auto& d : subdirs) {
            std::string p = tmp;
            size_t i = 0;
            while (i <= d.size()) {
                size_t j = d.find('/', i);
                if (j == std::string::npos) j = d.size();
                p += "/" + d.substr(i, j - i);
                if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) throw Error("create " + p, errno);
                i = j + 1;
            }
        }
        write_atomically(tmp, kRecordFile, format_record(r));
        UniqueFd lockf(::open((tmp + "/" + kLockFile).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        if (!lockf) throw Error("create lock file", errno);
        // rename(2) of a directory onto an existing non-empty one fails: of
        // several creates of one name, exactly one wins.
        if (rename(tmp.c_str(), path(r.name).c_str()) != 0) {
            int err = errno;
            if (err == EEXIST || err == ENOTEMPTY)
                throw Error("container '" + r.name + "' already exists");
            throw Error("create container " + r.name, err);
        }
    } catch (...) {
        UniqueFd d(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (d) {
            try {
                remove_tree_at(d.get(), tmp.substr(tmp.rfind('/') + 1));
            } catch (const Error&) {
            }
        }
        throw;
    }
}

bool Store::exists(const std::string& name) const {
    struct stat st;
    return lstat((path(name) + "/" + kRecordFile).c_str(), &st) == 0;
}

Record Store::record(const std::string& name) const {
    check_container_name(name);
    std::string text;
    if (!read_file(path(name) + "/" + kRecordFile, text))
        throw Error("no container named '" + name + "' (see: kakuri list)");
    return parse_record(text);
}

std::vector<std::string> Store::names() const {
    std::vector<std::string> out;
    DIR* d = opendir(dir_.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (valid_container_name(n) && exists(n)) out.push_back(n);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

UniqueFd Store::lock(const std::string& name) const {
    std::string p = path(name) + "/" + kLockFile;
    UniqueFd fd(::open(p.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno == ENOENT) throw Error("no container named '" + name + "' (see: kakuri list)");
        throw Error("open " + p, errno);
    }
    check(flock(fd.get(), LOCK_EX), "lock container " + name);
    // Removed while we waited for the lock?
    if (!exists(name)) throw Error("no container named '" + name + "' (see: kakuri list)");
    return fd;
}

State Store::state(const std::string& name) const {
    std::string text;
    if (!read_file(path(name) + "/" + kStateFile, text)) return State{};
    return parse_state(text);
}

void Store::write_state(const std::string& name, const State& s) const {
    write_atomically(path(name), kStateFile, format_state(s));
}

Status Store::status(const std::string& name, State* live) const {
    State s = state(name);
    if (state_is_live(s)) {
        if (live) *live = s;
        return Status::Running;
    }
    return s.started ? Status::Stopped : Status::Created;
}

void Store::remove(const std::string& name) const {
    check_container_name(name);
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, ".trash-%s-%ld", name.c_str(), static_cast<long>(getpid()));
    std::string trash = tmpl;
    if (rename(path(name).c_str(), (dir_ + "/" + trash).c_str()) != 0) {
        if (errno == ENOENT) throw Error("no container named '" + name + "' (see: kakuri list)");
        throw Error("remove container " + name, errno);
    }
    UniqueFd d(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) throw Error("open " + dir_, errno);
    remove_tree_at(d.get(), trash);
}

void remove_tree_at(int dirfd, const std::string& name) {
    struct stat st;
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return;
        throw Error("stat " + name, errno);
    }
    if (S_ISDIR(st.st_mode)) {
        // A program inside may have made its directories unreadable (chmod 000).
        // (If it fails, opening it below says why.)
        if ((st.st_mode & 0700) != 0700 && fchmodat(dirfd, name.c_str(), 0700, 0) != 0) {
        }
        int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) throw Error("open " + name, errno);
        DIR* d = fdopendir(fd);
        if (!d) {
            ::close(fd);
            throw Error("read " + name, errno);
        }
        std::vector<std::string> children;
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") children.push_back(n);
        }
        try {
            for (const auto& c : children) remove_tree_at(::dirfd(d), c);
        } catch (...) {
            closedir(d);
            throw;
        }
        closedir(d);
        if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
            throw Error("remove " + name, errno);
    } else if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
        throw Error("remove " + name, errno);
    }
}

}  // namespace kakuri
