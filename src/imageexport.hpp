// imageexport: an image as the OCI world reads it (README, "Images"): its tree as one layer
// (a tar written with libarchive, read beneath the tree and never through a link, owners as
// the container sees them), its config and manifest, packed as an OCI archive, a `docker
// load` archive or an OCI layout directory; FILE made under a temporary name beside it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "imageformat.hpp"
#include "sys.hpp"

namespace kakuri {

enum class ExportFormat { Oci, Docker, Dir };
// "oci", "docker" or "dir"; throws Error (125) for anything else.
ExportFormat parse_export_format(const std::string& word);

// The platform an exported image claims (OCI image-spec config.md, GOARCH names): this
// build's, as kakuri images hold programs of the machine they were imported on.
const char* oci_architecture();
// The name a loaded image gets: localhost/NAME:latest, NAME lowercased and its separators made
// what a reference's repository allows ([a-z0-9]+ joined by '.', '_', '__' or '-'s).
std::string export_reference(const std::string& name);

// The documents of an export, as JSON text (pure). The layer is an uncompressed tar: its
// digest is its diff_id.
struct BlobDesc {
    std::string hex;  // sha256
    uint64_t size = 0;
};
std::string export_config(const ImageConfig& c, int64_t created, const std::string& layer_hex);
std::string export_manifest(const BlobDesc& config, const BlobDesc& layer);
std::string export_index(const BlobDesc& manifest, const std::string& reference);
std::string export_docker_manifest(const BlobDesc& config, const BlobDesc& layer,
                                   const std::string& reference);

// FILE as an export makes it: a file or directory of a temporary name beside it (".FILE.kakuri-
// PID"), renamed to FILE by commit(); deleted when destroyed uncommitted. "-": standard output
// (not a terminal; not for Dir). Throws Error when FILE exists or its directory is not writable.
class ExportTarget {
public:
    ExportTarget(const std::string& file, ExportFormat fmt);
    ~ExportTarget();
    ExportTarget(const ExportTarget&) = delete;
    ExportTarget& operator=(const ExportTarget&) = delete;
    int fd() const { return fd_.get(); }  // the archive, or the layout's directory
    void commit();

private:
    std::string file_, tmp_;
    ExportFormat fmt_;
    UniqueFd parent_, fd_;
    bool stdout_ = false, done_ = false;
};

struct ExportStats {
    uint64_t files = 0;
    uint64_t bytes = 0;
    // An archive reads the tree twice: the layer's size and digest first (false), then its
    // bytes into the archive (true).
    bool writing = false;
};
struct ExportJob {
    int rootfs = -1;  // the image's tree, opened
    const ImageRecord* record = nullptr;
    ExportFormat format = ExportFormat::Oci;
    int out = -1;                                      // ExportTarget::fd()
    std::function<void(const ExportStats&)> progress;  // now and then, when set
};
// Writes the export. A file of the tree is read through an fd opened beneath its directory
// with O_NOFOLLOW: a symbolic link is exported as a link, whatever it names. Device nodes and
// sockets are left out (an import makes none). Returns the counts of the last pass.
ExportStats write_export(const ExportJob& job);

}  // namespace kakuri
