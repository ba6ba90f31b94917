// Unit tests for imageexport's pure parts: the format's name, the reference a loaded image gets
// and the JSON documents of an export, read back by kakuri's own parsers where it has them.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "imageexport.hpp"
#include "imageformat.hpp"
#include "sys.hpp"

namespace kakuri {

namespace {
const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kHex2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const std::string kHex3 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
}  // namespace

TEST_CASE("imageexport: --format takes oci, docker and dir, nothing else") {
    CHECK(parse_export_format("oci") == ExportFormat::Oci);
    CHECK(parse_export_format("docker") == ExportFormat::Docker);
    CHECK(parse_export_format("dir") == ExportFormat::Dir);
    for (const char* bad : {"", "OCI", "oci-archive", "tar", "docker "})
        CHECK_THROWS_AS(parse_export_format(bad), Error);
}

TEST_CASE("imageexport: the reference is a valid localhost repository of the image's name") {
    const std::pair<const char*, const char*> rows[] = {
        {"alpine", "localhost/alpine:latest"}, {"Alpine-3.19", "localhost/alpine-3.19:latest"},
        {"a__b", "localhost/a__b:latest"},     {"a---b", "localhost/a---b:latest"},
        {"a._b", "localhost/a-b:latest"},      {"a..b", "localhost/a-b:latest"},
        {"a___b", "localhost/a-b:latest"},     {"box.", "localhost/box:latest"},
        {"box-_", "localhost/box:latest"},     {"9lives", "localhost/9lives:latest"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.first);
        CHECK(export_reference(row.first) == row.second);
    }
}

TEST_CASE("imageexport: the config carries Env, Cmd, Entrypoint, WorkingDir, User and the layer") {
    ImageConfig c;
    c.env = {"PATH=/bin", "FOO=a b"};
    c.entrypoint = {"/bin/sh", "-c"};
    c.cmd = {"echo $FOO"};
    c.workdir = "/srv";
    c.user = "1000:1000";
    const std::string text = export_config(c, 1796132225, kHex);
    // kakuri's own reader sees the same config, and the layer as the diff_id.
    CHECK(parse_image_config(text) == c);
    REQUIRE(config_diff_ids(text).size() == 1);
    CHECK(config_diff_ids(text)[0].hex == kHex);
    const auto j = nlohmann::json::parse(text);
    CHECK(j["os"] == "linux");
    CHECK(j["architecture"] == oci_architecture());
    CHECK(j["created"] == "2026-12-01T13:37:05Z");
    CHECK(j["rootfs"]["type"] == "layers");
    // An empty config leaves the keys out rather than writing empty values.
    const auto empty = nlohmann::json::parse(export_config(ImageConfig(), 0, kHex));
    CHECK(empty["config"].empty());
}

TEST_CASE("imageexport: manifest and index name the blobs by digest and size") {
    const BlobDesc config{kHex, 300}, layer{kHex2, 10240}, manifest{kHex3, 400};
    const ImageManifest m = parse_oci_manifest(export_manifest(config, layer));
    CHECK(m.config.digest.hex == kHex);
    REQUIRE(m.layers.size() == 1);
    CHECK(m.layers[0].digest.hex == kHex2);
    const auto mj = nlohmann::json::parse(export_manifest(config, layer));
    CHECK(mj["schemaVersion"] == 2);
    CHECK(mj["layers"][0]["size"] == 10240);
    CHECK(mj["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar");
    CHECK(mj["config"]["size"] == 300);
    const std::string index = export_index(manifest, "localhost/box:latest");
    const ManifestRef ref = select_manifest(index);
    CHECK(ref.digest.hex == kHex3);
    CHECK_FALSE(ref.is_index);
    const auto ij = nlohmann::json::parse(index);
    CHECK(ij["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] ==
          "localhost/box:latest");
    CHECK(ij["manifests"][0]["size"] == 400);
}

TEST_CASE("imageexport: docker's manifest.json names the config and layer files by digest") {
    const std::string text =
        export_docker_manifest(BlobDesc{kHex, 300}, BlobDesc{kHex2, 10240}, "localhost/box:latest");
    const ImageManifest m = parse_docker_manifest(text);
    CHECK(m.config.path == kHex + ".json");
    REQUIRE(m.layers.size() == 1);
    CHECK(m.layers[0].path == kHex2 + ".tar");
    CHECK(nlohmann::json::parse(text)[0]["RepoTags"][0] == "localhost/box:latest");
}

}  // namespace kakuri
