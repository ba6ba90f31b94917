// imageformat: names, entry names, whiteouts, digests and the JSON of image formats, with
// nlohmann's parser (a malformed document is an Error, never another exception).
#include "imageformat.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "paths.hpp"
#include "sys.hpp"

namespace kakuri {

using nlohmann::json;

namespace {

json parse_json(const std::string& text, const std::string& what) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw Error(what + ": not valid JSON");
    return j;
}

// The value at key when it is of the wanted kind, else a default: image formats leave keys
// out freely, and a wrongly typed one is treated as absent only where absence is harmless.
const json* member(const json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string string_at(const json& j, const char* key, const std::string& what) {
    const json* v = member(j, key);
    if (!v) return "";
    if (!v->is_string()) throw Error(what + ": " + key + " is not a string");
    return v->get<std::string>();
}

std::vector<std::string> strings_at(const json& j, const char* key, const std::string& what) {
    std::vector<std::string> out;
    const json* v = member(j, key);
    if (!v) return out;
    if (!v->is_array()) throw Error(what + ": " + key + " is not a list");
    for (const auto& e : *v) {
        if (!e.is_string()) throw Error(what + ": " + key + " holds a non-string");
        out.push_back(e.get<std::string>());
    }
    return out;
}

BlobRef descriptor(const json& d, const std::string& what) {
    if (!d.is_object()) throw Error(what + ": a descriptor is not an object");
    BlobRef b;
    b.digest = parse_digest(string_at(d, "digest", what));
    b.has_digest = true;
    b.path = b.digest.blob_path();
    return b;
}

BlobRef docker_path(const std::string& path, const std::string& what) {
    BlobRef b;
    b.path = entry_path(path);
    if (b.path.empty()) throw Error(what + ": an empty path");
    return b;
}

}  // namespace

bool valid_image_name(const std::string& n) {
    return valid_store_name(n);
}

void check_image_name(const std::string& n) {
    if (!valid_image_name(n))
        throw Error("bad image name " + shown(n) +
                    ": use letters, digits, '_', '.' and '-', starting with a letter or digit, "
                    "at most 64 characters");
}

std::string image_name_from_source(const std::string& source) {
    std::string s = source;
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    s = s.substr(s.rfind('/') == std::string::npos ? 0 : s.rfind('/') + 1);
    static const char* const kSuffixes[] = {".gz",  ".tgz",  ".xz",  ".txz", ".zst",   ".tzst",
                                            ".bz2", ".tbz2", ".tar", ".oci", ".docker"};
    for (bool more = true; more;) {
        more = false;
        for (const char* suf : kSuffixes) {
            const std::string x = suf;
            if (s.size() > x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) {
                s.resize(s.size() - x.size());
                more = true;
            }
        }
    }
    for (auto& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
            c = '-';
    while (!s.empty() && !std::isalnum(static_cast<unsigned char>(s[0]))) s.erase(0, 1);
    if (s.size() > 64) s.resize(64);
    return valid_image_name(s) ? s : "";
}

std::string pull_reference(const std::string& ref) {
    if (ref.empty()) throw Error("image pull: an empty REF");
    if (has_control(ref)) throw Error("image pull " + shown(ref) + ": a control character");
    if (ref[0] == '-') throw Error("image pull " + shown(ref) + ": a REF cannot start with '-'");
    std::string rest = ref.compare(0, 9, "docker://") == 0 ? ref.substr(9) : ref;
    // HOST[:PORT]/PATH: a ':' before the first '/' is a port's (digits); else it names another
    // transport (oci:/dir, docker-archive:/file), which is import's to read.
    const size_t slash = rest.find('/'), colon = rest.find(':');
    bool port_ok = true;
    if (slash != std::string::npos && colon < slash) {
        port_ok = slash > colon + 1;
        for (size_t i = colon + 1; i < slash; ++i)
            port_ok = port_ok && std::isdigit(static_cast<unsigned char>(rest[i]));
    }
    if (rest.empty() || rest[0] == '/' || !port_ok || rest.find(' ') != std::string::npos)
        throw Error("image pull " + shown(ref) +
                    ": not a registry's image (HOST/NAME[:TAG], or docker://...; import reads "
                    "files)");
    return "docker://" + rest;
}

std::string image_name_from_ref(const std::string& ref) {
    std::string s = ref.compare(0, 9, "docker://") == 0 ? ref.substr(9) : ref;
    s = s.substr(0, s.find('@'));
    size_t slash = s.rfind('/');
    s = s.substr(slash == std::string::npos ? 0 : slash + 1);
    s = s.substr(0, s.find(':'));
    return image_name_from_source(s);
}

std::string entry_path(const std::string& raw) {
    if (has_control(raw)) throw Error("archive entry " + shown(raw) + ": a control character");
    if (!raw.empty() && raw[0] == '/')
        throw Error("archive entry " + shown(raw) + ": an absolute name");
    std::string out;
    size_t i = 0;
    while (i <= raw.size()) {
        size_t j = raw.find('/', i);
        if (j == std::string::npos) j = raw.size();
        const std::string c = raw.substr(i, j - i);
        i = j + 1;
        if (c.empty() || c == ".") continue;
        if (c == "..")
            throw Error("archive entry " + shown(raw) + ": a '..' component leads outside");
        out += (out.empty() ? "" : "/") + c;
    }
    return out;
}

Whiteout whiteout_of(const std::string& path) {
    static const std::string kPrefix = ".wh.";
    static const std::string kOpaque = ".wh..wh..opq";
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.compare(0, kPrefix.size(), kPrefix) != 0) return {};
    if (base == kOpaque) return {WhiteoutKind::Opaque, dir};
    const std::string name = base.substr(kPrefix.size());
    if (name.empty() || name == "." || name == "..")
        throw Error("archive entry " + shown(path) + ": a whiteout of " + shown(name) +
                    " names no file of its directory");
    return {WhiteoutKind::Remove, dir.empty() ? name : dir + "/" + name};
}

bool is_sha256_hex(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

Digest parse_digest(const std::string& text) {
    const std::string kAlg = "sha256:";
    if (text.compare(0, kAlg.size(), kAlg) != 0 || !is_sha256_hex(text.substr(kAlg.size())))
        throw Error("unsupported or malformed digest " + shown(text.substr(0, 80)) +
                    " (kakuri checks sha256 digests)");
    return {text.substr(kAlg.size())};
}

std::vector<std::string> ImageConfig::command() const {
    std::vector<std::string> out = entrypoint;
    out.insert(out.end(), cmd.begin(), cmd.end());
    return out;
}

ImageConfig parse_image_config(const std::string& text) {
    const std::string what = "image config";
    json j = parse_json(text, what);
    if (!j.is_object()) throw Error(what + ": not an object");
    ImageConfig c;
    const json* cfg = member(j, "config");
    if (!cfg) return c;
    c.env = strings_at(*cfg, "Env", what);
    for (const auto& e : c.env)
        if (e.find('=') == std::string::npos || e[0] == '=' || has_control(e))
            throw Error(what + ": Env holds an entry that is not NAME=VALUE");
    c.entrypoint = strings_at(*cfg, "Entrypoint", what);
    c.cmd = strings_at(*cfg, "Cmd", what);
    c.workdir = string_at(*cfg, "WorkingDir", what);
    c.user = string_at(*cfg, "User", what);
    if (has_control(c.workdir) || has_control(c.user))
        throw Error(what + ": WorkingDir or User holds a control character");
    return c;
}

std::vector<Digest> config_diff_ids(const std::string& text) {
    const std::string what = "image config";
    json j = parse_json(text, what);
    std::vector<Digest> out;
    const json* rootfs = member(j, "rootfs");
    if (!rootfs) return out;
    for (const auto& d : strings_at(*rootfs, "diff_ids", what)) out.push_back(parse_digest(d));
    return out;
}

ManifestRef select_manifest(const std::string& text) {
    const std::string what = "index.json";
    json j = parse_json(text, what);
    const json* m = member(j, "manifests");
    if (!m || !m->is_array() || m->empty()) throw Error(what + ": it names no manifest");
    const json* pick = nullptr;
    for (const auto& d : *m) {
        const json* p = member(d, "platform");
        const bool fits = !p || (string_at(*p, "os", what) == "linux" &&
                                 string_at(*p, "architecture", what) == "amd64");
        if (fits) {
            pick = &d;
            break;
        }
    }
    if (!pick) pick = &(*m)[0];
    ManifestRef r;
    r.digest = descriptor(*pick, what).digest;
    r.is_index = string_at(*pick, "mediaType", what) == "application/vnd.oci.image.index.v1+json";
    return r;
}

ImageManifest parse_oci_manifest(const std::string& text) {
    const std::string what = "image manifest";
    json j = parse_json(text, what);
    const json* config = member(j, "config");
    const json* layers = member(j, "layers");
    if (!config || !layers || !layers->is_array())
        throw Error(what + ": no config or no layers (not an image manifest)");
    ImageManifest m;
    m.config = descriptor(*config, what);
    for (const auto& l : *layers) m.layers.push_back(descriptor(l, what));
    return m;
}

ImageManifest parse_docker_manifest(const std::string& text) {
    const std::string what = "manifest.json";
    json j = parse_json(text, what);
    if (!j.is_array() || j.empty()) throw Error(what + ": it names no image");
    const json& first = j[0];
    ImageManifest m;
    m.config = docker_path(string_at(first, "Config", what), what);
    for (const auto& l : strings_at(first, "Layers", what))
        m.layers.push_back(docker_path(l, what));
    return m;
}

const char* image_ids_name(ImageIds ids) {
    switch (ids) {
    case ImageIds::Own: return "own";
    case ImageIds::Subids: return "subids";
    case ImageIds::Root: return "root";
    }
    return "own";
}

std::string format_image_record(const ImageRecord& r) {
    json j = {{"name", r.name},
              {"created", r.created},
              {"source", r.source},
              {"format", r.format},
              {"size", r.size},
              {"ids", image_ids_name(r.ids)},
              {"layers", r.layers},
              {"config",
               {{"Env", r.config.env},
                {"Entrypoint", r.config.entrypoint},
                {"Cmd", r.config.cmd},
                {"WorkingDir", r.config.workdir},
                {"User", r.config.user}}}};
    // Any byte a source's name holds: kept as it is, not as UTF-8 kakuri cannot promise.
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

ImageRecord parse_image_record(const std::string& text) {
    const std::string what = "image record";
    json j = parse_json(text, what);
    if (!j.is_object()) throw Error(what + ": not an object");
    ImageRecord r;
    r.name = string_at(j, "name", what);
    check_image_name(r.name);
    const json* created = member(j, "created");
    const json* size = member(j, "size");
    if (!created || !created->is_number_integer() || !size || !size->is_number_unsigned())
        throw Error(what + ": no created time or size");
    r.created = created->get<int64_t>();
    r.size = size->get<uint64_t>();
    r.source = string_at(j, "source", what);
    r.format = string_at(j, "format", what);
    const std::string ids = string_at(j, "ids", what);
    if (ids == "own") {
        r.ids = ImageIds::Own;
    } else if (ids == "subids") {
        r.ids = ImageIds::Subids;
    } else if (ids == "root") {
        r.ids = ImageIds::Root;
    } else {
        throw Error(what + ": unknown ids " + shown(ids));
    }
    r.layers = strings_at(j, "layers", what);
    r.config = parse_image_config(json{{"config", j.value("config", json::object())}}.dump());
    return r;
}

}  // namespace kakuri
