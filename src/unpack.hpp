// unpack: writing an archive's entries (libarchive: tar, plain or gzip, xz, zstd, bzip2) or a
// directory's tree into an image's directory, beneath it and never through a link; OCI
// whiteouts; SHA-256 of a file (nettle). Everything an archive says is attacker input.
#pragma once

#include <nettle/sha2.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace kakuri {

struct UnpackStats {
    uint64_t entries = 0;
    uint64_t bytes = 0;
    uint64_t devices = 0;      // device nodes and sockets skipped
    uint64_t owners_lost = 0;  // entries whose owner has no id here: left the caller's
};

struct UnpackOptions {
    bool whiteouts = false;  // an image layer: .wh. entries remove what the layers below have
    bool owners = true;      // set each entry's uid and gid (where they are mapped)
    bool special = true;     // make FIFOs (device nodes are never made)
    uint64_t reserve = 0;    // stop, with an Error, when less than this many bytes stay free
    // copy_tree of an overlayfs upper layer: a 0/0 character device removes what the tree
    // below has at its place, a directory marked opaque (user. or trusted.overlay.opaque)
    // hides what the tree below has in it (Documentation/filesystems/overlayfs.rst).
    bool overlay_upper = false;
    // Its directories known to be opaque (overlay_opaque_dirs, read where trusted.* xattrs
    // can be: a user namespace sees none).
    const std::set<std::string>* opaque_dirs = nullptr;
    const char* what = "";  // for messages: "layer 2 of 3", the archive's name
    // When set, the SHA-256 (lowercase hex) of every byte of the archive, read to its end, is
    // written here once it is unpacked: one pass checks a layer's digest and unpacks it.
    std::string* sha256 = nullptr;
    // Told the counts now and then (every 256 entries, every 32 MiB written).
    std::function<void(const UnpackStats&)> progress;
};

// Writes the archive read from archive_fd beneath the directory root_fd. An entry that names
// a place outside (an absolute name, "..", a path through a symbolic link, a hard link to one)
// or a corrupt or truncated archive throws Error; what was written stays for the caller to
// delete (a digest that does not match too). progress, when set, is called now and then.
void unpack_archive(int archive_fd, int root_fd, const UnpackOptions& o, UnpackStats& stats,
                    const std::function<void(const UnpackStats&)>& progress = {});

// The same for a directory tree (opened as src_fd): its files, links and directories, copied.
void copy_tree(int src_fd, int root_fd, const UnpackOptions& o, UnpackStats& stats);

// Is the archive one kakuri reads (tar, compressed or not), and its first entry names: up to
// `limit` of them, read from archive_fd's start. Throws Error for what libarchive cannot read.
std::vector<std::string> archive_names(int archive_fd, size_t limit);

// The directories of an overlayfs upper layer marked opaque (user. or trusted.overlay.opaque),
// as paths relative to it; directories that cannot be read are left out.
std::set<std::string> overlay_opaque_dirs(int upper_fd);

// SHA-256 (nettle's) of bytes given in pieces, and how many there were.
class Sha256 {
public:
    Sha256() { sha256_init(&ctx_); }
    void add(const void* p, size_t n) {
        sha256_update(&ctx_, n, static_cast<const uint8_t*>(p));
        size_ += n;
    }
    uint64_t size() const { return size_; }
    // The digest in lowercase hex; the sum starts anew.
    std::string hex();

private:
    struct sha256_ctx ctx_;
    uint64_t size_ = 0;
};

// SHA-256 of bytes, in lowercase hex.
std::string sha256_hex_of(const std::string& bytes);

}  // namespace kakuri
