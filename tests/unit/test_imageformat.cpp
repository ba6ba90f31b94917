// Unit tests for imageformat: image names, archive entry names, whiteouts, digests, the JSON of
// OCI layouts, docker-save manifests, image configs and kakuri's image record.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "imageformat.hpp"
#include "images.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {
const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kHex2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
}  // namespace

TEST_CASE("imageformat: entry_path keeps every entry beneath the image") {
    const std::pair<const char*, const char*> plain[] = {
        {"./etc/passwd", "etc/passwd"},
        {"etc//passwd", "etc/passwd"},
        {"./", ""},
        {".", ""},
        {"usr/bin/", "usr/bin"},
        {"a/./b", "a/b"},
        {"..a/b..", "..a/b.."},
        {"a/...", "a/..."},
    };
    for (const auto& row : plain) {
        const char* raw = row.first;
        CAPTURE(raw);
        CHECK(entry_path(raw) == row.second);
    }
    const char* hostile[] = {"../etc/passwd", "a/../../b", "a/..",  "..",
                             "/etc/passwd",   "//etc",     "a/b\n", "./../x"};
    for (const char* raw : hostile) {
        CAPTURE(raw);
        CHECK_THROWS_AS(entry_path(raw), Error);
    }
}

TEST_CASE("imageformat: whiteouts name a file of their directory, never ..") {
    CHECK(whiteout_of("etc/passwd").kind == WhiteoutKind::None);
    CHECK(whiteout_of("etc/.whx").kind == WhiteoutKind::None);
    Whiteout w = whiteout_of("etc/.wh.passwd");
    CHECK(w.kind == WhiteoutKind::Remove);
    CHECK(w.target == "etc/passwd");
    w = whiteout_of(".wh.top");
    CHECK(w.kind == WhiteoutKind::Remove);
    CHECK(w.target == "top");
    w = whiteout_of("opt/x/.wh..wh..opq");
    CHECK(w.kind == WhiteoutKind::Opaque);
    CHECK(w.target == "opt/x");
    w = whiteout_of(".wh..wh..opq");
    CHECK(w.kind == WhiteoutKind::Opaque);
    CHECK(w.target == "");
    CHECK_THROWS_AS(whiteout_of("etc/.wh.."), Error);
    CHECK_THROWS_AS(whiteout_of("etc/.wh.."), Error);
    CHECK_THROWS_AS(whiteout_of(".wh.."), Error);
    CHECK_THROWS_AS(whiteout_of("etc/.wh."), Error);
    CHECK_THROWS_AS(whiteout_of("etc/.wh.."), Error);
}

TEST_CASE("imageformat: digests are sha256 and 64 lowercase hex digits") {
    CHECK(parse_digest("sha256:" + kHex).hex == kHex);
    CHECK(parse_digest("sha256:" + kHex).blob_path() == "blobs/sha256/" + kHex);
    const std::string bad[] = {"sha512:" + kHex,
                               "sha256:" + kHex.substr(1),
                               "sha256:" + kHex + "0",
                               "sha256:../../../etc/passwd",
                               "SHA256:" + kHex,
                               "sha256:" + std::string(64, 'G'),
                               ""};
    for (const auto& b : bad) {
        CAPTURE(b);
        CHECK_THROWS_AS(parse_digest(b), Error);
    }
}

TEST_CASE("imageformat: image names and the name a source gives") {
    CHECK(valid_image_name("alpine"));
    CHECK(valid_image_name("debian-12.1_x"));
    CHECK_FALSE(valid_image_name(""));
    CHECK_FALSE(valid_image_name(".new-1-x"));
    CHECK_FALSE(valid_image_name("a/b"));
    CHECK_FALSE(valid_image_name(std::string(65, 'a')));
    CHECK(image_name_from_source("/x/alpine-minirootfs-3.19.1-x86_64.tar.gz") ==
          "alpine-minirootfs-3.19.1-x86_64");
    CHECK(image_name_from_source("deb.tar.zst") == "deb");
    CHECK(image_name_from_source("/srv/oci-dir/") == "oci-dir");
    CHECK(image_name_from_source("my image.tgz") == "my-image");
    CHECK(image_name_from_source("/x/---.tar") == "");
}

TEST_CASE("imageformat: an OCI config's process") {
    ImageConfig c = parse_image_config(R"({"architecture":"amd64","config":{
        "Env":["PATH=/usr/bin","FOO=bar"],"Entrypoint":["/bin/sh","-c"],"Cmd":["echo hi"],
        "WorkingDir":"/srv","User":"postgres"},"rootfs":{"type":"layers","diff_ids":["sha256:)" +
                                       kHex + R"("]}})");
    CHECK(c.env == std::vector<std::string>{"PATH=/usr/bin", "FOO=bar"});
    CHECK(c.command() == std::vector<std::string>{"/bin/sh", "-c", "echo hi"});
    CHECK(c.workdir == "/srv");
    CHECK(c.user == "postgres");
    CHECK(parse_image_config(R"({"config":null})").command().empty());
    CHECK(parse_image_config(R"({})").env.empty());
    CHECK(config_diff_ids(R"({"rootfs":{"diff_ids":["sha256:)" + kHex + R"("]}})")[0].hex == kHex);
    CHECK_THROWS_AS(parse_image_config("{"), Error);
    CHECK_THROWS_AS(parse_image_config("[]"), Error);
    CHECK_THROWS_AS(parse_image_config(R"({"config":{"Cmd":"sh"}})"), Error);
    CHECK_THROWS_AS(parse_image_config(R"({"config":{"Env":["NOEQUALS"]}})"), Error);
    CHECK_THROWS_AS(parse_image_config(R"({"config":{"Env":[1]}})"), Error);
}

TEST_CASE("imageformat: an OCI layout's index and manifest") {
    const std::string index = R"({"schemaVersion":2,"manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
                              kHex2 +
                              R"(","size":1,"platform":{"architecture":"arm64","os":"linux"}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
                              kHex +
                              R"(","size":1,"platform":{"architecture":"amd64","os":"linux"}}]})";
    ManifestRef r = select_manifest(index);
    CHECK(r.digest.hex == kHex);
    CHECK_FALSE(r.is_index);
    CHECK_THROWS_AS(select_manifest(R"({"manifests":[]})"), Error);
    CHECK_THROWS_AS(select_manifest(R"({"manifests":[{"digest":"sha256:../../x"}]})"), Error);
    ImageManifest m = parse_oci_manifest(R"({"config":{"digest":"sha256:)" + kHex +
                                         R"("},"layers":[{"digest":"sha256:)" + kHex2 +
                                         R"("},{"digest":"sha256:)" + kHex + R"("}]})");
    CHECK(m.config.path == "blobs/sha256/" + kHex);
    REQUIRE(m.layers.size() == 2);
    CHECK(m.layers[0].digest.hex == kHex2);
    CHECK(m.layers[1].has_digest);
    CHECK_THROWS_AS(parse_oci_manifest(R"({"config":{"digest":"md5:x"},"layers":[]})"), Error);
}

TEST_CASE("imageformat: a docker-save manifest's paths stay beneath the archive") {
    ImageManifest m = parse_docker_manifest(
        R"([{"Config":")" + kHex + R"(.json","RepoTags":["x:latest"],"Layers":["a/layer.tar"]}])");
    CHECK(m.config.path == kHex + ".json");
    CHECK_FALSE(m.config.has_digest);
    REQUIRE(m.layers.size() == 1);
    CHECK(m.layers[0].path == "a/layer.tar");
    CHECK_THROWS_AS(parse_docker_manifest(R"([{"Config":"../x.json","Layers":[]}])"), Error);
    CHECK_THROWS_AS(parse_docker_manifest(R"([{"Config":"x.json","Layers":["/etc/shadow"]}])"),
                    Error);
    CHECK_THROWS_AS(parse_docker_manifest(R"([])"), Error);
}

TEST_CASE("imageformat: the image record both ways") {
    ImageRecord r;
    r.name = "alpine";
    r.created = 1796000000;
    r.source = "/home/a/alpine.tar.gz";
    r.format = "oci";
    r.size = 123456;
    r.ids = ImageIds::Subids;
    r.layers = {"sha256:" + kHex};
    r.config.env = {"PATH=/bin"};
    r.config.cmd = {"/bin/sh"};
    r.config.workdir = "/";
    ImageRecord back = parse_image_record(format_image_record(r));
    CHECK(back.name == r.name);
    CHECK(back.created == r.created);
    CHECK(back.source == r.source);
    CHECK(back.format == r.format);
    CHECK(back.size == r.size);
    CHECK(back.ids == r.ids);
    CHECK(back.layers == r.layers);
    CHECK(back.config == r.config);
    CHECK_THROWS_AS(parse_image_record(R"({"name":"../x","created":1,"size":1,"ids":"own"})"),
                    Error);
    CHECK_THROWS_AS(parse_image_record(R"({"name":"x","created":1,"size":1,"ids":"all"})"), Error);
}

TEST_CASE("images: what a source is, from its first names") {
    CHECK(source_kind({"blobs/", "blobs/sha256/" + kHex, "oci-layout", "index.json"}) ==
          SourceKind::Oci);
    CHECK(source_kind({kHex + ".tar", kHex2 + ".json", "manifest.json", "repositories"}) ==
          SourceKind::Docker);
    CHECK(source_kind({"./", "./bin/", "./etc/", "./etc/os-release"}) == SourceKind::Rootfs);
    // A root filesystem with such a file deeper down is still one.
    CHECK(source_kind({"./", "./srv/index.json", "./srv/manifest.json"}) == SourceKind::Rootfs);
    CHECK(source_kind({}) == SourceKind::Rootfs);
}

TEST_CASE("images: sizes and the list's table") {
    CHECK(human_size(0) == "0B");
    CHECK(human_size(1023) == "1023B");
    CHECK(human_size(1536) == "1.5K");
    CHECK(human_size(5u << 20) == "5.0M");
    CHECK(human_size(300ull << 20) == "300M");
    ImageRecord r;
    r.name = "deb";
    r.created = 1000;
    r.size = 2u << 20;
    r.source = "/x/deb.tar";
    CHECK(format_image_table({r}, 1000 + 180) ==
          "NAME  SIZE  CREATED        SOURCE\n"
          "deb   2.0M  3 minutes ago  /x/deb.tar\n");
    CHECK(format_image_json({}) == "[]\n");
}

TEST_CASE("pull_reference: a registry's image, docker:// meant; nothing taken for an option") {
    CHECK(pull_reference("127.0.0.1:5000/it/busybox:1") == "docker://127.0.0.1:5000/it/busybox:1");
    CHECK(pull_reference("docker://alpine:3.19") == "docker://alpine:3.19");
    CHECK(pull_reference("alpine") == "docker://alpine");
    for (const char* bad : {"", "-x", "--src-creds=a:b", "oci:/srv/layout", "/srv/x", "docker://",
                            "a b", "x\ny", "docker-archive:/x.tar/y"})
        CHECK_THROWS_AS(pull_reference(bad), Error);
}

TEST_CASE("image_name_from_ref: the last component, without tag or digest") {
    CHECK(image_name_from_ref("127.0.0.1:5000/it/busybox:1") == "busybox");
    CHECK(image_name_from_ref("docker://docker.io/library/alpine@sha256:abc") == "alpine");
    CHECK(image_name_from_ref("alpine:3.19") == "alpine");
    CHECK(image_name_from_ref("host:5000/") == "");
}

}  // namespace kakuri
