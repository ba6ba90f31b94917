// images: images on disk under images_dir (README, "Images"): import from every kind of
// source, inside a user and mount namespace whose only writable place is the image being
// built; list, inspect, remove; and what --image and create --image take from one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config.hpp"
#include "container.hpp"
#include "imageformat.hpp"
#include "spec.hpp"
#include "sys.hpp"

namespace kakuri {

// kakuri image SUBCOMMAND ...: argv[0] is "image". report prints a line (a note, a leftover).
int run_image_subcommand(int argc, char* argv[], const std::string& config,
                         const std::function<void(const std::string&)>& report);
std::string image_help();

// kakuri commit BOX IMAGE: a container's root as it is now (the tree below and what the
// container wrote above it) becomes the image IMAGE, made as import makes one.
struct CommitFrom {
    std::string container;  // its name, the image's source
    std::string lower;      // the tree below: its image's or --rootfs's (resolved host path)
    std::string upper;      // the container's upper layer of its root
    ImageConfig config;     // its image's config (empty for a --rootfs container)
    std::string image;      // the image lower is the tree of (held while it is read); or ""
};
void commit_image(const std::string& config, const std::function<void(const std::string&)>& report,
                  const CommitFrom& from, const std::string& name, int verbosity);

// kakuri export --bundle: the container's root as commit composes it, copied into
// dir_path/rootfs (dir_path: a directory the caller made empty, open as dir_fd), by a child in
// a user namespace with commit's ids (every file keeps its owner: real root's ids, or the
// caller's and its subordinate range's) and a mount namespace confined to dir_path; then(rootfs)
// runs there last. Throws Error; what was written is removed with remove_root_copy.
void copy_root(const std::string& config, const CommitFrom& from, int dir_fd,
               const std::string& dir_path, int verbosity,
               const std::function<void(int rootfs)>& then);
// Deletes entry of parent_fd, from a user namespace with copy_root's ids (an unprivileged caller
// cannot remove its subordinate ids' files otherwise).
void remove_root_copy(const std::string& config, int parent_fd, const std::string& entry,
                      const std::string& what);

// images_dir, ~ expanded; throws Error when it is not absolute.
std::string images_dir_of(const Config& cfg, const std::string& home);

// The image --image NAME names, for make_spec: its tree and config. Throws Error (125) when
// there is no such image or its directory may not be trusted. hold, when given, gets the
// image's lock, held shared (taken before anything of the image is read): kept for as long as
// the container lives (LaunchHooks::hold), image remove refuses the image.
ImageUse use_image(const Config& cfg, const HostInfo& host, const std::string& name,
                   UniqueFd* hold = nullptr);
// The image's lock alone, held shared: a persistent container's start, a commit of one.
UniqueFd hold_image(const Config& cfg, const HostInfo& host, const std::string& name);

// What a source is, from the names of its first entries (an archive) or its top (a
// directory): an OCI layout, a docker-save archive, or a root filesystem. Pure.
enum class SourceKind { Rootfs, Oci, Docker };
SourceKind source_kind(const std::vector<std::string>& names);

// "12.3M": bytes in the largest unit that keeps a digit before the point (K, M, G, T).
std::string human_size(uint64_t bytes);
// image list: NAME SIZE CREATED SOURCE, as of now; --json: an array of the records.
std::string format_image_table(const std::vector<ImageRecord>& images, int64_t now);
std::string format_image_json(const std::vector<ImageRecord>& images);

}  // namespace kakuri
