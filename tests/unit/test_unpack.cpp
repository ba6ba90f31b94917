// unpack: the digest of a layer taken as it is unpacked covers every byte of it, what follows
// the archive's end included (a second read is what it replaced).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include <string>

#include "scratch.hpp"
#include "sys.hpp"
#include "unpack.hpp"

namespace kakuri {

namespace {

// A ustar archive holding etc/hello, by hand (the static libarchive's writer would pull in
// libxml2): one header, the data, the two zero blocks of its end.
std::string tar_of_hello() {
    std::string h(512, '\0');
    auto put = [&](size_t at, const std::string& v) { h.replace(at, v.size(), v); };
    put(0, "etc/hello");
    put(100, "0000644");
    put(108, "0000000");
    put(116, "0000000");
    put(124, "00000000006");
    put(136, "00000000000");
    put(148, "        ");
    h[156] = '0';
    put(257, std::string("ustar\0"
                         "00",
                         8));
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    char field[8];
    snprintf(field, sizeof field, "%06o", sum);
    put(148, std::string(field, 7));
    std::string data = "hello\n";
    data.resize(512, '\0');
    return h + data + std::string(1024, '\0');
}

std::string gzip_of(const std::string& in) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, in.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = uInt(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

}  // namespace

TEST_CASE("unpack_archive hashes every byte of the archive as it unpacks it") {
    // Past the end: more than libarchive's read blocks (64 KiB), so only reading on to the
    // end finds it.
    const std::string tail = std::string(300 << 10, '\0') + "trailing";
    for (bool gzip : {false, true}) {
        CAPTURE(gzip);
        Scratch s("unpack");
        const std::string bytes = (gzip ? gzip_of(tar_of_hello()) : tar_of_hello()) + tail;
        const std::string path = s.file("layer", 0644, bytes);
        const std::string root = s.mkdir("root");
        UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(in);
        REQUIRE(dir);
        UnpackOptions o;
        o.owners = false;
        std::string got;
        o.sha256 = &got;
        UnpackStats stats;
        unpack_archive(in.get(), dir.get(), o, stats);
        CHECK(got == sha256_hex_of(bytes));
        CHECK(got.size() == 64);
        CHECK(access((root + "/etc/hello").c_str(), F_OK) == 0);
        // Without sha256 set, nothing is hashed and nothing else changes.
        UnpackOptions plain;
        plain.owners = false;
        const std::string root2 = s.mkdir("root2");
        UniqueFd dir2(::open(root2.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        unpack_archive(in.get(), dir2.get(), plain, stats);
        CHECK(access((root2 + "/etc/hello").c_str(), F_OK) == 0);
    }
}

}  // namespace kakuri
