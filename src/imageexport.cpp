// imageexport: an image's tree written as one OCI layer with libarchive's writing side (the
// restricted pax format alone, so that a static link needs no other format's libraries), its
// digest taken with nettle's SHA-256 as the bytes go by; the layout's JSON with nlohmann's.
#include "imageexport.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "store.hpp"
#include "unpack.hpp"

namespace kakuri {

using nlohmann::json;

namespace {

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
// Uncompressed: what podman save and docker save write too. The archive is read once, where
// it is made or loaded; a registry push (skopeo copy, podman push) compresses on its way.
constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar";
constexpr size_t kChunk = 1 << 16;

std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json descriptor(const char* type, const BlobDesc& b) {
    return {{"mediaType", type}, {"digest", "sha256:" + b.hex}, {"size", b.size}};
}

struct ArchiveWriteDeleter {
    void operator()(struct archive* a) const { archive_write_free(a); }
};
using WriteArchive = std::unique_ptr<struct archive, ArchiveWriteDeleter>;
struct EntryDeleter {
    void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using Entry = std::unique_ptr<struct archive_entry, EntryDeleter>;

// A tar writer of the restricted pax format: ustar where a name, a link or an id fits, a pax
// header where it does not (a name that is not UTF-8 is kept as bytes, hdrcharset=BINARY).
WriteArchive new_tar() {
    WriteArchive a(archive_write_new());
    if (!a) throw Error("libarchive: out of memory");
    if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK)
        throw Error(std::string("libarchive: ") + archive_error_string(a.get()));
    return a;
}

[[noreturn]] void archive_fail(struct archive* a, const std::string& what) {
    const char* e = archive_error_string(a);
    throw Error(what + ": " + (e ? e : "libarchive failed"),
                archive_errno(a) > 0 ? archive_errno(a) : 0);
}

// The layer's bytes as libarchive hands them out: hashed and counted, then passed on (to the
// outer archive, to a blob's file; nowhere in the first pass of an archive). An Error thrown
// on the way is kept and rethrown outside libarchive, whose C frames it must not cross.
struct LayerSink {
    Sha256 sha;
    std::function<void(const void*, size_t)> pass_on;
    std::optional<Error> failed;

    static la_ssize_t write(struct archive*, void* self, const void* buf, size_t n) {
        auto* s = static_cast<LayerSink*>(self);
        try {
            s->sha.add(buf, n);
            if (s->pass_on) s->pass_on(buf, n);
            return static_cast<la_ssize_t>(n);
        } catch (const Error& e) {
            s->failed = e;
        } catch (const std::exception& e) {
            s->failed = Error(e.what());
        }
        return -1;
    }
    static int close(struct archive*, void*) { return ARCHIVE_OK; }
};

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

// The tree, depth first, each directory's entries in name order (the same bytes each pass).
class TreeWriter {
public:
    TreeWriter(struct archive* a, LayerSink& sink, ExportStats& stats,
               const std::function<void(const ExportStats&)>& progress)
        : a_(a), sink_(sink), stats_(stats), progress_(progress) {}

    void tree(int dir, const std::string& at) {
        for (const auto& name : names(dir, at)) one(dir, name, join(at, name));
    }

private:
    std::vector<std::string> names(int dir, const std::string& at) {
        std::vector<std::string> out;
        UniqueFd list(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        DIR* d = list ? fdopendir(list.get()) : nullptr;
        if (!d) throw Error("image export: read " + shown(at.empty() ? "/" : "/" + at), errno);
        list.release();
        std::unique_ptr<DIR, int (*)(DIR*)> closer(d, closedir);
        errno = 0;
        while (struct dirent* e = readdir(d)) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                out.emplace_back(e->d_name);
            errno = 0;
        }
        if (errno) throw Error("image export: read " + shown("/" + at), errno);
        std::sort(out.begin(), out.end());
        return out;
    }

    [[noreturn]] void fail(const std::string& path, const char* verb, int err) {
        throw Error("image export: cannot " + std::string(verb) + " " + shown("/" + path), err);
    }

    Entry entry(const std::string& path, const struct stat& st, mode_t type) {
        Entry e(archive_entry_new());
        if (!e) throw Error("libarchive: out of memory");
        archive_entry_copy_pathname(e.get(), path.c_str());
        archive_entry_set_filetype(e.get(), type);
        archive_entry_set_perm(e.get(), st.st_mode & 07777);
        // The ids as the container sees them: this process runs in the image's user namespace.
        archive_entry_set_uid(e.get(), st.st_uid);
        archive_entry_set_gid(e.get(), st.st_gid);
        archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        archive_entry_set_size(e.get(), 0);
        return e;
    }

    void header(struct archive_entry* e, const std::string& path) {
        if (archive_write_header(a_, e) < ARCHIVE_WARN) {
            if (sink_.failed) throw *sink_.failed;
            archive_fail(a_, "image export: " + shown("/" + path));
        }
        stats_.files++;
        if (progress_ && stats_.files % 256 == 0) progress_(stats_);
    }

    void data(const void* p, size_t n, const std::string& path) {
        if (archive_write_data(a_, p, n) != static_cast<la_ssize_t>(n)) {
            if (sink_.failed) throw *sink_.failed;
            archive_fail(a_, "image export: " + shown("/" + path));
        }
        stats_.bytes += n;
        since_ += n;
        if (progress_ && since_ >= (32u << 20)) {
            since_ = 0;
            progress_(stats_);
        }
    }

    void one(int dir, const std::string& name, const std::string& path) {
        struct stat st;
        if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail(path, "read", errno);
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sub(
                ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub || fstat(sub.get(), &st) != 0) fail(path, "open", errno);
            Entry e = entry(path + "/", st, AE_IFDIR);
            header(e.get(), path);
            tree(sub.get(), path);
        } else if (S_ISREG(st.st_mode)) {
            file(dir, name, path, st);
        } else if (S_ISLNK(st.st_mode)) {
            // The link itself, never what it names (inside the image or on the host).
            std::string target(size_t(st.st_size) + 1, '\0');
            for (;;) {
                ssize_t n = readlinkat(dir, name.c_str(), &target[0], target.size());
                if (n < 0) fail(path, "read the link", errno);
                if (size_t(n) < target.size()) {
                    target.resize(size_t(n));
                    break;
                }
                target.resize(target.size() * 2);
            }
            Entry e = entry(path, st, AE_IFLNK);
            archive_entry_copy_symlink(e.get(), target.c_str());
            header(e.get(), path);
        } else if (S_ISFIFO(st.st_mode)) {
            Entry e = entry(path, st, AE_IFIFO);
            header(e.get(), path);
        }
        // Device nodes and sockets: an import makes none, and a container's /dev is kakuri's.
    }

    void file(int dir, const std::string& name, const std::string& path, struct stat st) {
        // O_NONBLOCK: whatever is there by now (a FIFO), opening it never waits.
        UniqueFd f(
            ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (!f || fstat(f.get(), &st) != 0) fail(path, "open", errno);
        if (!S_ISREG(st.st_mode))
            throw Error("image export: " + shown("/" + path) + " changed while it was read");
        if (st.st_nlink > 1) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            auto it = links_.find(key);
            if (it != links_.end()) {
                Entry e = entry(path, st, AE_IFREG);
                archive_entry_copy_hardlink(e.get(), it->second.c_str());
                header(e.get(), path);
                return;
            }
            links_.emplace(key, path);
        }
        Entry e = entry(path, st, AE_IFREG);
        archive_entry_set_size(e.get(), st.st_size);
        header(e.get(), path);
        std::vector<char> buf(kChunk);
        off_t left = st.st_size;
        while (left > 0) {
            ssize_t n = ::read(f.get(), buf.data(), size_t(std::min<off_t>(left, kChunk)));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail(path, "read", errno);
            if (n == 0)
                throw Error("image export: " + shown("/" + path) + " shrank while it was read");
            data(buf.data(), size_t(n), path);
            left -= n;
        }
    }

    struct archive* a_;
    LayerSink& sink_;
    ExportStats& stats_;
    const std::function<void(const ExportStats&)>& progress_;
    std::map<std::pair<dev_t, ino_t>, std::string> links_;
    uint64_t since_ = 0;
};

// One pass over the tree: the layer's bytes to pass_on (when set); its digest and size.
BlobDesc write_layer(const ExportJob& job, ExportStats& stats,
                     std::function<void(const void*, size_t)> pass_on) {
    stats = ExportStats();
    stats.writing = static_cast<bool>(pass_on);
    LayerSink sink;
    sink.pass_on = std::move(pass_on);
    WriteArchive a = new_tar();
    if (archive_write_open(a.get(), &sink, nullptr, &LayerSink::write, &LayerSink::close) !=
        ARCHIVE_OK)
        archive_fail(a.get(), "image export: the layer");
    TreeWriter w(a.get(), sink, stats, job.progress);
    w.tree(job.rootfs, "");
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
        if (sink.failed) throw *sink.failed;
        archive_fail(a.get(), "image export: the layer");
    }
    if (job.progress) job.progress(stats);
    return {sink.sha.hex(), sink.sha.size()};
}

void write_fd(int fd, const void* p, size_t n, const char* what) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = ::write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw Error(std::string("image export: write ") + what, errno);
        c += w;
        n -= size_t(w);
    }
}

// The outer archive (an OCI archive or a docker one): a few small files and the layer.
class Outer {
public:
    Outer(int fd, int64_t mtime) : a_(new_tar()), mtime_(mtime) {
        // The last block unpadded whatever fd is (libarchive pads for a pipe, not for a file):
        // the same bytes to a FILE and to standard output.
        archive_write_set_bytes_in_last_block(a_.get(), 1);
        if (archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK)
            archive_fail(a_.get(), "image export: the archive");
    }
    struct archive* get() {
        return a_.get();
    }

    void begin(const std::string& name, mode_t type, uint64_t size) {
        Entry e(archive_entry_new());
        if (!e) throw Error("libarchive: out of memory");
        archive_entry_copy_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), type);
        archive_entry_set_perm(e.get(), type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_mtime(e.get(), mtime_, 0);
        archive_entry_set_size(e.get(), int64_t(size));
        if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK)
            archive_fail(a_.get(), "image export: the archive");
    }
    void data(const void* p, size_t n) {
        if (archive_write_data(a_.get(), p, n) != static_cast<la_ssize_t>(n))
            archive_fail(a_.get(), "image export: the archive");
    }
    void file(const std::string& name, const std::string& bytes) {
        begin(name, AE_IFREG, bytes.size());
        data(bytes.data(), bytes.size());
    }
    void close() {
        if (archive_write_close(a_.get()) != ARCHIVE_OK)
            archive_fail(a_.get(), "image export: the archive");
    }

private:
    WriteArchive a_;
    int64_t mtime_;
};

// A file of the layout directory, written whole and synced.
void put(int dir, const std::string& name, const std::string& bytes) {
    UniqueFd f(
        ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f) throw Error("image export: create " + name, errno);
    write_fd(f.get(), bytes.data(), bytes.size(), name.c_str());
    if (fsync(f.get()) != 0) throw Error("image export: write " + name, errno);
}

UniqueFd make_dir(int dir, const char* name) {
    if (mkdirat(dir, name, 0755) != 0)
        throw Error(std::string("image export: make ") + name, errno);
    UniqueFd d(::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) throw Error(std::string("image export: open ") + name, errno);
    return d;
}

}  // namespace

}  // namespace kakuri

#if KAKURI_STATIC_LIBARCHIVE
// libarchive's tar writers report an entry type they cannot hold through an internal helper
// (libarchive 3.6) that lives in the one object which also names every writer it has, and
// its xar writer needs libxml2 (and so ICU), which a static kakuri must not link (meson.build).
// Defined here, weakly, the linker takes this one and leaves that object out; where a
// libarchive has the helper elsewhere, its own definition wins. kakuri hands libarchive only
// files, directories, links and FIFOs, which tar holds.
extern "C" __attribute__((weak)) void __archive_write_entry_filetype_unsupported(
    struct archive* a, struct archive_entry* entry, const char* format) {
    const char* path = archive_entry_pathname(entry);
    archive_set_error(a, EILSEQ, "%s: the %s format cannot hold its type", path ? path : "?",
                      format ? format : "archive");
}
#endif

namespace kakuri {

ExportFormat parse_export_format(const std::string& word) {
    if (word == "oci") return ExportFormat::Oci;
    if (word == "docker") return ExportFormat::Docker;
    if (word == "dir") return ExportFormat::Dir;
    throw Error("image export: unknown --format " + shown(word) + " (oci, docker or dir)");
}

const char* oci_architecture() {
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__i386__)
    return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

std::string export_reference(const std::string& name) {
    // Runs of letters and digits, joined by one separator each: '.', '_', "__" or '-'s as they
    // are, any other run of separators as '-'; none at either end.
    std::string repo, sep;
    for (char raw : name) {
        const char c = char(std::tolower(static_cast<unsigned char>(raw)));
        if (std::isalnum(static_cast<unsigned char>(c))) {
            if (!repo.empty() && !sep.empty()) {
                const bool dashes = sep.find_first_not_of('-') == std::string::npos;
                repo += sep == "." || sep == "_" || sep == "__" || dashes ? sep : "-";
            }
            sep.clear();
            repo += c;
        } else {
            sep += c;
        }
    }
    if (repo.empty()) repo = "image";
    return "localhost/" + repo + ":latest";
}

std::string export_config(const ImageConfig& c, int64_t created, const std::string& layer_hex) {
    json cfg = json::object();
    if (!c.env.empty()) cfg["Env"] = c.env;
    if (!c.entrypoint.empty()) cfg["Entrypoint"] = c.entrypoint;
    if (!c.cmd.empty()) cfg["Cmd"] = c.cmd;
    if (!c.workdir.empty()) cfg["WorkingDir"] = c.workdir;
    if (!c.user.empty()) cfg["User"] = c.user;
    const std::string when = iso_time(created);
    json j = {{"created", when},
              {"architecture", oci_architecture()},
              {"os", "linux"},
              {"config", cfg},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + layer_hex}}}},
              {"history", {{{"created", when}, {"created_by", "kakuri image export"}}}}};
    return dump(j);
}

std::string export_manifest(const BlobDesc& config, const BlobDesc& layer) {
    json j = {{"schemaVersion", 2},
              {"mediaType", kManifestType},
              {"config", descriptor(kConfigType, config)},
              {"layers", {descriptor(kLayerType, layer)}}};
    return dump(j);
}

std::string export_index(const BlobDesc& manifest, const std::string& reference) {
    json m = descriptor(kManifestType, manifest);
    m["annotations"] = {{"org.opencontainers.image.ref.name", reference}};
    json j = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.index.v1+json"},
              {"manifests", {m}}};
    return dump(j);
}

std::string export_docker_manifest(const BlobDesc& config, const BlobDesc& layer,
                                   const std::string& reference) {
    json j = json::array({{{"Config", config.hex + ".json"},
                           {"RepoTags", {reference}},
                           {"Layers", {layer.hex + ".tar"}}}});
    return dump(j);
}

ExportTarget::ExportTarget(const std::string& file, ExportFormat fmt) : file_(file), fmt_(fmt) {
    if (file == "-") {
        if (fmt == ExportFormat::Dir)
            throw Error("image export: --format dir writes a directory, not standard output");
        if (isatty(STDOUT_FILENO))
            throw Error(
                "image export: refusing to write an archive to a terminal (name a FILE, "
                "or redirect standard output)");
        fd_.reset(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
        if (!fd_) throw Error("image export: standard output", errno);
        stdout_ = true;
        return;
    }
    std::string path = file;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "."
                            : slash == 0               ? "/"
                                                       : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.empty() || base == "." || base == ".." || has_control(file))
        throw Error("image export: FILE " + shown(file) + " names no file to make");
    parent_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_) throw Error("image export: open the directory of " + shown(file), errno);
    struct stat st;
    if (fstatat(parent_.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        throw Error("image export: " + shown(file) + " already exists");
    file_ = base;
    tmp_ = "." + base.substr(0, 200) + ".kakuri-" + std::to_string(getpid());
    if (fmt == ExportFormat::Dir) {
        if (mkdirat(parent_.get(), tmp_.c_str(), 0777) != 0)
            throw Error("image export: cannot make " + shown(file), errno);
        fd_.reset(
            ::openat(parent_.get(), tmp_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    } else {
        fd_.reset(::openat(parent_.get(), tmp_.c_str(),
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
    }
    if (!fd_) {
        const int err = errno;
        if (fmt == ExportFormat::Dir) unlinkat(parent_.get(), tmp_.c_str(), AT_REMOVEDIR);
        tmp_.clear();
        throw Error("image export: cannot make " + shown(file), err);
    }
}

ExportTarget::~ExportTarget() {
    if (done_ || tmp_.empty()) return;
    fd_.reset();
    try {
        if (fmt_ == ExportFormat::Dir)
            remove_tree_at(parent_.get(), tmp_);
        else
            unlinkat(parent_.get(), tmp_.c_str(), 0);
    } catch (const Error&) {
    }
}

void ExportTarget::commit() {
    if (stdout_) {
        done_ = true;
        return;
    }
    if (fsync(fd_.get()) != 0) throw Error("image export: write " + shown(file_), errno);
    if (renameat2(parent_.get(), tmp_.c_str(), parent_.get(), file_.c_str(), RENAME_NOREPLACE) !=
        0) {
        if (errno == EEXIST) throw Error("image export: " + shown(file_) + " already exists");
        throw Error("image export: rename to " + shown(file_), errno);
    }
    done_ = true;
    fsync(parent_.get());
}

ExportStats write_export(const ExportJob& job) {
    const ImageRecord& r = *job.record;
    const std::string reference = export_reference(r.name);
    ExportStats stats;
    if (job.format == ExportFormat::Dir) {
        // One pass: the layer to a file of its own, named by its digest once that is known.
        UniqueFd blobs = make_dir(job.out, "blobs");
        UniqueFd sha = make_dir(blobs.get(), "sha256");
        const char* kPartial = "layer.partial";
        UniqueFd f(::openat(sha.get(), kPartial,
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!f) throw Error("image export: create the layer", errno);
        const int fd = f.get();
        BlobDesc layer = write_layer(
            job, stats, [fd](const void* p, size_t n) { write_fd(fd, p, n, "the layer"); });
        if (fsync(fd) != 0) throw Error("image export: write the layer", errno);
        if (renameat(sha.get(), kPartial, sha.get(), layer.hex.c_str()) != 0)
            throw Error("image export: name the layer", errno);
        const std::string config = export_config(r.config, r.created, layer.hex);
        const BlobDesc cdesc{sha256_hex_of(config), config.size()};
        put(sha.get(), cdesc.hex, config);
        const std::string manifest = export_manifest(cdesc, layer);
        const BlobDesc mdesc{sha256_hex_of(manifest), manifest.size()};
        put(sha.get(), mdesc.hex, manifest);
        put(job.out, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        put(job.out, "index.json", export_index(mdesc, reference));
        fsync(sha.get());
        fsync(blobs.get());
        fsync(job.out);
        return stats;
    }
    // An archive: the layer's size and digest come before its bytes (in its tar header, in its
    // name), so the tree is read twice; what the second pass wrote must be what the first
    // measured (the image is never written after import).
    const BlobDesc layer = write_layer(job, stats, nullptr);
    const std::string config = export_config(r.config, r.created, layer.hex);
    const BlobDesc cdesc{sha256_hex_of(config), config.size()};
    Outer out(job.out, r.created);
    const bool oci = job.format == ExportFormat::Oci;
    std::string manifest;
    BlobDesc mdesc;
    if (oci) {
        manifest = export_manifest(cdesc, layer);
        mdesc = {sha256_hex_of(manifest), manifest.size()};
        out.file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        out.begin("blobs/", AE_IFDIR, 0);
        out.begin("blobs/sha256/", AE_IFDIR, 0);
    }
    out.begin(oci ? "blobs/sha256/" + layer.hex : layer.hex + ".tar", AE_IFREG, layer.size);
    const BlobDesc again =
        write_layer(job, stats, [&out](const void* p, size_t n) { out.data(p, n); });
    if (again.hex != layer.hex || again.size != layer.size)
        throw Error("image export: the image changed while it was exported");
    if (oci) {
        out.file("blobs/sha256/" + cdesc.hex, config);
        out.file("blobs/sha256/" + mdesc.hex, manifest);
        out.file("index.json", export_index(mdesc, reference));
    } else {
        out.file(cdesc.hex + ".json", config);
        out.file("manifest.json", export_docker_manifest(cdesc, layer, reference));
    }
    out.close();
    return stats;
}

}  // namespace kakuri
