// imageformat: images as data: their names, what an archive entry's name may be and what a
// whiteout names, digests, and the JSON of OCI layouts, docker-save manifests, image configs
// and kakuri's own image record (README, "Images"). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kakuri {

// [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, as a container's name.
bool valid_image_name(const std::string& name);
void check_image_name(const std::string& name);  // throws Error (125)
// The name `image import SOURCE` gives when none is given: SOURCE's last component without
// its archive suffixes (.tar, .tgz, .tar.gz, .tar.xz, .tar.zst, ...), other characters made
// '-'; "" when nothing valid is left.
std::string image_name_from_source(const std::string& source);

// `image pull REF`: REF as skopeo takes it (docker://HOST/PATH[:TAG][@DIGEST]; without a
// transport, docker:// is meant). Throws Error for an empty REF, one that starts with '-' (an
// option to skopeo), a control character or another transport.
std::string pull_reference(const std::string& ref);
// The name `image pull REF` gives when none is given: the last component of REF's path
// without its tag or digest ("" when nothing valid is left).
std::string image_name_from_ref(const std::string& ref);

// An archive entry's name, checked and made plain: "./" and repeated or trailing '/' dropped.
// "" is the root itself. Throws Error naming the entry for an absolute name, a ".." component
// or a control character: no entry is ever written outside the image.
std::string entry_path(const std::string& raw);

// OCI whiteouts (image-spec layer.md): ".wh.NAME" removes NAME from the layers below,
// ".wh..wh..opq" empties its directory of them.
enum class WhiteoutKind { None, Remove, Opaque };
struct Whiteout {
    WhiteoutKind kind = WhiteoutKind::None;
    std::string target;  // Remove: the path removed; Opaque: the directory emptied ("" = root)
};
// path is entry_path's. Throws Error for a whiteout naming "", "." or "..".
Whiteout whiteout_of(const std::string& path);

// "sha256:" and 64 lowercase hex digits, the only algorithm kakuri accepts. Throws Error.
struct Digest {
    std::string hex;  // 64 lowercase hex digits
    std::string text() const { return "sha256:" + hex; }
    std::string blob_path() const { return "blobs/sha256/" + hex; }
};
Digest parse_digest(const std::string& text);
bool is_sha256_hex(const std::string& s);

// What an image's config says a container runs with (OCI image-spec config.md, `config`).
struct ImageConfig {
    std::vector<std::string> env;  // K=V
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::string workdir;
    std::string user;
    // What runs when no command is given: Entrypoint then Cmd.
    std::vector<std::string> command() const;
    bool operator==(const ImageConfig& o) const {
        return env == o.env && entrypoint == o.entrypoint && cmd == o.cmd && workdir == o.workdir &&
               user == o.user;
    }
};
// An OCI or docker image config (JSON); throws Error when it is not one.
ImageConfig parse_image_config(const std::string& json);
// The config's rootfs.diff_ids (docker-save layers are checked against them).
std::vector<Digest> config_diff_ids(const std::string& json);

// A layer or config as a manifest names it: by digest (OCI) or by path (docker save).
struct BlobRef {
    std::string path;  // relative to the layout's top, checked by entry_path
    bool has_digest = false;
    Digest digest;
};
struct ImageManifest {
    BlobRef config;
    std::vector<BlobRef> layers;  // lowest first
};
// index.json of an OCI layout: the one manifest it names (the first one for linux/amd64 or
// without a platform when there are several). Nested indexes: is_index tells.
struct ManifestRef {
    Digest digest;
    bool is_index = false;
};
ManifestRef select_manifest(const std::string& index_json);
ImageManifest parse_oci_manifest(const std::string& json);
// manifest.json of `docker save` / `podman save --format docker-archive`: its first image.
ImageManifest parse_docker_manifest(const std::string& json);

// Who owns an image's files on the host: the caller alone, the caller and its subordinate
// range, or real root's ids as they are. Removing it needs the same mapping.
enum class ImageIds { Own, Subids, Root };
const char* image_ids_name(ImageIds ids);

// kakuri's record of an image (images_dir/NAME/image.json), written once at import.
struct ImageRecord {
    std::string name;
    int64_t created = 0;
    std::string source;  // the SOURCE imported, as an absolute path
    std::string format;  // "rootfs", "directory", "oci", "docker"
    uint64_t size = 0;   // bytes of its files
    ImageIds ids = ImageIds::Own;
    std::vector<std::string> layers;  // digests of the layers applied, lowest first
    ImageConfig config;
};
std::string format_image_record(const ImageRecord& r);
ImageRecord parse_image_record(const std::string& json);  // throws Error

}  // namespace kakuri
