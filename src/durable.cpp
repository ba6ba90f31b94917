// durable: ContainerSpec <-> record fields. Every value is words split at single spaces, each
// percent-encoded: no path, environment entry or helper path can add a line or a field.
#include "durable.hpp"

#include <cstdio>
#include <sstream>

#include "limits.hpp"
#include "sys.hpp"

namespace kakuri {

std::string encode_word(const std::string& w) {
    if (w.empty()) return "%";  // a word of its own: the empty one
    std::string out;
    for (unsigned char c : w) {
        if (c == '%' || c == ' ' || c < 0x20 || c == 0x7f) {
            char buf[4];
            snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string decode_word(const std::string& w) {
    if (w == "%") return "";
    std::string out;
    for (size_t i = 0; i < w.size(); ++i) {
        if (w[i] != '%') {
            out += w[i];
            continue;
        }
        unsigned v = 0;
        if (i + 2 >= w.size() || sscanf(w.substr(i + 1, 2).c_str(), "%2X", &v) != 1)
            throw Error("bad escape in the container's record");
        out += static_cast<char>(v);
        i += 2;
    }
    return out;
}

namespace {

std::string words(std::initializer_list<std::string> ws) {
    std::string out;
    for (const auto& w : ws) out += (out.empty() ? "" : " ") + encode_word(w);
    return out;
}

std::vector<std::string> split_words(const std::string& v, size_t want, const std::string& key) {
    std::vector<std::string> out;
    std::istringstream in(v);
    for (std::string w; std::getline(in, w, ' ');) out.push_back(decode_word(w));
    if (out.size() != want) throw Error("bad field '" + key + "' in the container's record");
    return out;
}

uint64_t number(const std::string& v, const std::string& key, int base = 10) {
    try {
        size_t used = 0;
        unsigned long long n = std::stoull(v, &used, base);
        if (used != v.size() || v.empty() || v[0] == '-') throw std::invalid_argument(v);
        return n;
    } catch (const std::exception&) {
        throw Error("bad field '" + key + "' in the container's record");
    }
}

bool flag(const std::string& v, const std::string& key) {
    if (v != "0" && v != "1") throw Error("bad field '" + key + "' in the container's record");
    return v == "1";
}

const char* writer_name(MapWriter w) {
    switch (w) {
    case MapWriter::Self: return "self";
    case MapWriter::Parent: return "parent";
    case MapWriter::Helpers: return "helpers";
    }
    return "self";
}

std::string hex(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    return buf;
}

// A publish field: HOSTIP HOSTPORT PORT COUNT tcp|udp, checked as --publish checks its text.
Publish publish_field(const std::string& v, const std::string& key) {
    auto w = split_words(v, 5, key);
    const uint64_t host = number(w[1], key), port = number(w[2], key), count = number(w[3], key);
    if ((w[4] != "tcp" && w[4] != "udp") || count < 1 || host < 1 || port < 1 ||
        host + count - 1 > 65535 || port + count - 1 > 65535)
        throw Error("bad field '" + key + "' in the container's record");
    Publish p;
    try {
        p = parse_publish(w[0] + ":" + w[1] + ":" + w[2]);
    } catch (const Error&) {
        throw Error("bad field '" + key + "' in the container's record");
    }
    p.count = static_cast<uint16_t>(count);
    p.udp = w[4] == "udp";
    return p;
}

}  // namespace

std::string network_summary(const Policy& p) {
    if (p.share_net) return "host";
    if (!p.net.on) return "none";
    std::string out = "private";
    for (const auto& pub : p.net.publish) {
        std::string text = format_publish(pub);  // 127.0.0.1:8080:80/tcp
        size_t second = text.find(':', text.find(':') + 1);
        out += " " + text.substr(0, second) + "->" + text.substr(second + 1);
    }
    return out;
}

Fields container_fields(const ContainerSpec& s) {
    const Identity& id = s.identity;
    const Layout& layout = s.layout;
    const Policy& policy = s.policy;
    Fields f;
    auto put = [&](const std::string& k, const std::string& v) { f.emplace_back(k, v); };
    put("userns", id.userns ? "1" : "0");
    for (const auto& m : id.uid_map)
        put("uid_map",
            words({std::to_string(m.inside), std::to_string(m.outside), std::to_string(m.count)}));
    for (const auto& m : id.gid_map)
        put("gid_map",
            words({std::to_string(m.inside), std::to_string(m.outside), std::to_string(m.count)}));
    put("map_writer", writer_name(id.map_writer));
    if (!id.newuidmap.empty()) put("newuidmap", encode_word(id.newuidmap));
    if (!id.newgidmap.empty()) put("newgidmap", encode_word(id.newgidmap));
    put("uid", std::to_string(id.uid));
    put("gid", std::to_string(id.gid));
    put("user", id.user ? "1" : "0");
    put("caller_uid", std::to_string(id.caller_uid));
    put("caller_gid", std::to_string(id.caller_gid));
    put("share_net", policy.share_net ? "1" : "0");
    // A private network's fields only where there is one: a record without them reads as
    // before (and as kakuri before them wrote it).
    if (policy.net.on) {
        put("private_net", "1");
        put("host_loopback", policy.net.host_loopback ? "1" : "0");
        if (!policy.net.dns.empty()) put("dns", encode_word(policy.net.dns));
        for (const auto& p : policy.net.publish)
            put("publish", words({p.host_ip, std::to_string(p.host_port), std::to_string(p.port),
                                  std::to_string(p.count), p.udp ? "udp" : "tcp"}));
    }
    put("hostname", encode_word(policy.hostname));
    if (!layout.rootfs.empty()) put("rootfs", encode_word(layout.rootfs));
    if (!layout.image.empty()) put("image", encode_word(layout.image));
    for (const auto& d : layout.system)
        put("system", words({d.path,
                             d.is_symlink  ? "link"
                             : d.read_only ? "ro"
                                           : "overlay",
                             d.link_target}));
    if (!layout.home.empty()) put("home", encode_word(layout.home));
    // In order (a later one over the same place wins); an --overlay with its change set's id.
    for (const auto& b : layout.binds)
        if (b.overlay)
            put("overlay", words({b.src, b.dst, std::to_string(b.change_set)}));
        else
            put("bind", words({b.ro ? "ro" : "rw", b.src, b.dst}));
    for (const auto& l : layout.links) put("link", words({l.path, l.target}));
    put("seccomp", policy.seccomp ? "1" : "0");
    put("caps", hex(policy.caps));
    // Limits only where set: a record without them reads as before, and an older kakuri refuses
    // a container it could not hold to them (an unknown field).
    const Limits& l = policy.limits;
    if (l.memory) put("memory", format_limit_size(l.memory));
    if (l.pids) put("pids_limit", std::to_string(l.pids));
    if (l.cpu_millis) put("cpus", format_cpus(l.cpu_millis));
    if (l.tmpfs_size) put("tmpfs_size", format_limit_size(l.tmpfs_size));
    const ProcessRules& r = s.process.rules;
    put("auto_mount", encode_word(r.auto_mount));
    put("auto_mount_workdir", r.auto_mount_workdir ? "1" : "0");
    put("clearenv", r.clearenv ? "1" : "0");
    for (const auto& v : r.env_unset) put("env_unset", encode_word(v));
    for (const auto& v : r.env) put("env", encode_word(v));
    for (const auto& v : r.env_set) put("env_set", encode_word(v));
    for (const auto& v : r.env_drop) put("env_drop", encode_word(v));
    for (const auto& v : r.env_keep) put("env_keep", encode_word(v));
    for (const auto& v : r.image_env) put("image_env", encode_word(v));
    for (const auto& v : r.image_command) put("image_command", encode_word(v));
    if (!r.image_workdir.empty()) put("image_workdir", encode_word(r.image_workdir));
    return f;
}

Fields shown_fields(const Fields& recorded) {
    static const char* const kLists[] = {
        "uid_map", "system",   "bind",     "link",    "env_unset", "gid_map",       "env",
        "env_set", "env_drop", "env_keep", "publish", "image_env", "image_command", "overlay"};
    Fields out;
    for (const auto& [k, v] : recorded) {
        std::string shown;
        std::istringstream in(v);
        for (std::string w; std::getline(in, w, ' ');) {
            try {
                w = decode_word(w);
            } catch (const Error&) {
            }
            if (!w.empty()) shown += (shown.empty() ? "" : " ") + w;
        }
        if (k == "publish") {
            try {
                shown = format_publish(publish_field(v, k));
            } catch (const Error&) {
            }
        }
        // Never a variable's value: the config's env and -e K=V keep their name only.
        if ((k == "env" || k == "env_set") && shown.find('=') != std::string::npos)
            shown = shown.substr(0, shown.find('=')) + "=...";
        // A list: a key that may repeat, or (one this kakuri does not know) does.
        int seen = 0;
        for (const auto& other : recorded) seen += other.first == k;
        bool list = seen > 1;
        for (const char* l : kLists) list = list || k == l;
        out.emplace_back(list ? k + "[]" : k, shown);
    }
    return out;
}

namespace {

// One field of the record, read into the part of the container it describes; each returns
// false for a key that belongs to another part.
IdMapLine map_line(const std::string& k, const std::string& v) {
    auto w = split_words(v, 3, k);
    return IdMapLine{static_cast<uint32_t>(number(w[0], k)), static_cast<uint32_t>(number(w[1], k)),
                     static_cast<uint32_t>(number(w[2], k))};
}

Error bad_field(const std::string& k) {
    return Error("bad field '" + k + "' in the container's record");
}

bool identity_field(Identity& id, const std::string& k, const std::string& v) {
    if (k == "userns")
        id.userns = flag(v, k);
    else if (k == "uid_map")
        id.uid_map.push_back(map_line(k, v));
    else if (k == "gid_map")
        id.gid_map.push_back(map_line(k, v));
    else if (k == "map_writer") {
        if (v == "self")
            id.map_writer = MapWriter::Self;
        else if (v == "parent")
            id.map_writer = MapWriter::Parent;
        else if (v == "helpers")
            id.map_writer = MapWriter::Helpers;
        else
            throw bad_field(k);
    } else if (k == "newuidmap")
        id.newuidmap = decode_word(v);
    else if (k == "newgidmap")
        id.newgidmap = decode_word(v);
    else if (k == "uid")
        id.uid = static_cast<uint32_t>(number(v, k));
    else if (k == "gid")
        id.gid = static_cast<uint32_t>(number(v, k));
    else if (k == "user")
        id.user = flag(v, k);
    else if (k == "caller_uid")
        id.caller_uid = static_cast<uid_t>(number(v, k));
    else if (k == "caller_gid")
        id.caller_gid = static_cast<gid_t>(number(v, k));
    else
        return false;
    return true;
}

bool layout_field(Layout& layout, const std::string& k, const std::string& v) {
    if (k == "rootfs")
        layout.rootfs = decode_word(v);
    else if (k == "image")
        layout.image = decode_word(v);
    else if (k == "system") {
        auto w = split_words(v, 3, k);
        if (w[1] != "link" && w[1] != "ro" && w[1] != "overlay") throw bad_field(k);
        layout.system.push_back({w[0], w[1] == "link", w[2], w[1] == "ro"});
    } else if (k == "home")
        layout.home = decode_word(v);
    else if (k == "bind") {
        auto w = split_words(v, 3, k);
        if (w[0] != "ro" && w[0] != "rw") throw bad_field(k);
        layout.binds.push_back({w[1], w[2], w[0] == "ro"});
    } else if (k == "overlay") {
        auto w = split_words(v, 3, k);
        const std::string& id = w[2];
        if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos)
            throw bad_field(k);
        Bind b{w[0], w[1], false};
        b.overlay = true;
        b.change_set = static_cast<unsigned>(std::stoul(id));
        layout.binds.push_back(b);
    } else if (k == "link") {
        auto w = split_words(v, 2, k);
        layout.links.push_back({w[0], w[1]});
    } else
        return false;
    return true;
}

bool policy_field(Policy& policy, const std::string& k, const std::string& v) {
    if (k == "share_net")
        policy.share_net = flag(v, k);
    else if (k == "private_net")
        policy.net.on = flag(v, k);
    else if (k == "host_loopback")
        policy.net.host_loopback = flag(v, k);
    else if (k == "dns") {
        policy.net.dns = decode_word(v);
        if (!valid_ip(policy.net.dns))
            throw Error("bad field '" + k + "' in the container's record");
    } else if (k == "publish")
        policy.net.publish.push_back(publish_field(v, k));
    else if (k == "hostname")
        policy.hostname = decode_word(v);
    else if (k == "seccomp")
        policy.seccomp = flag(v, k);
    else if (k == "caps")
        policy.caps = number(v, k, 16);
    else if (k == "memory" || k == "tmpfs_size") {
        // As the options write them (inspect shows them so); a bare number is bytes.
        if (!parse_limit_size(v, k == "memory" ? policy.limits.memory : policy.limits.tmpfs_size))
            throw Error("bad field '" + k + "' in the container's record");
    } else if (k == "pids_limit") {
        if (!parse_pids(v, policy.limits.pids))
            throw Error("bad field '" + k + "' in the container's record");
    } else if (k == "cpus") {
        if (!parse_cpus(v, policy.limits.cpu_millis))
            throw Error("bad field '" + k + "' in the container's record");
    } else
        return false;
    return true;
}

bool rules_field(ProcessRules& rules, const std::string& k, const std::string& v) {
    if (k == "auto_mount")
        rules.auto_mount = decode_word(v);
    else if (k == "auto_mount_workdir")
        rules.auto_mount_workdir = flag(v, k);
    else if (k == "clearenv")
        rules.clearenv = flag(v, k);
    else if (k == "env_unset")
        rules.env_unset.push_back(decode_word(v));
    else if (k == "env")
        rules.env.push_back(decode_word(v));
    else if (k == "env_set")
        rules.env_set.push_back(decode_word(v));
    else if (k == "env_drop")
        rules.env_drop.push_back(decode_word(v));
    else if (k == "env_keep")
        rules.env_keep.push_back(decode_word(v));
    else if (k == "image_env")
        rules.image_env.push_back(decode_word(v));
    else if (k == "image_command")
        rules.image_command.push_back(decode_word(v));
    else if (k == "image_workdir")
        rules.image_workdir = decode_word(v);
    else
        return false;
    return true;
}

}  // namespace

ContainerSpec container_from_fields(const Fields& fields) {
    ContainerSpec s;
    s.layout.binds.clear();
    for (const auto& field : fields) {
        const std::string& k = field.first;
        const std::string& v = field.second;
        if (!identity_field(s.identity, k, v) && !layout_field(s.layout, k, v) &&
            !policy_field(s.policy, k, v) && !rules_field(s.process.rules, k, v))
            throw Error("unknown field '" + k + "' in the container's record");
    }
    return s;
}

}  // namespace kakuri
