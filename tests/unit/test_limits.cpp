// Unit tests for limits: sizes, CPUs and process counts as a user writes them, both ways.
#include <doctest/doctest.h>

#include <string>

#include "limits.hpp"

namespace kakuri {

namespace {

uint64_t size_of(const std::string& text) {
    uint64_t n = 0;
    CHECK_MESSAGE(parse_limit_size(text, n), text);
    return n;
}

bool bad_size(const std::string& text) {
    uint64_t n = 12345;
    bool ok = parse_limit_size(text, n);
    return !ok && n == 12345;
}

uint64_t cpus_of(const std::string& text) {
    uint64_t n = 0;
    CHECK_MESSAGE(parse_cpus(text, n), text);
    return n;
}

bool bad_cpus(const std::string& text) {
    uint64_t n = 7;
    return !parse_cpus(text, n) && n == 7;
}

bool bad_pids(const std::string& text) {
    uint64_t n = 7;
    return !parse_pids(text, n) && n == 7;
}

}  // namespace

TEST_CASE("limits: sizes in K, M, G, T, with fractions") {
    CHECK(size_of("512M") == 512ULL << 20);
    CHECK(size_of("512m") == 512ULL << 20);
    CHECK(size_of("1.5G") == 3ULL << 29);
    CHECK(size_of("0.5g") == 1ULL << 29);
    CHECK(size_of(".25G") == 1ULL << 28);
    CHECK(size_of("64M") == 64ULL << 20);
    CHECK(size_of("1T") == 1ULL << 40);
    CHECK(size_of("1.5T") == 3ULL << 39);
    CHECK(size_of("0.999999999T") == (((999999999ULL << 30) / 1000000000) << 10));
    CHECK(size_of("8388607.5T") == (8388607ULL << 40) + (1ULL << 39));
    CHECK(size_of("2048K") == 2ULL << 20);
    CHECK(size_of("1048576") == 1ULL << 20);
    // A fraction of a unit is whole bytes, rounded down.
    CHECK(size_of("1.1M") == (1ULL << 20) + 104857);
    CHECK(size_of("1.000000001G") == (1ULL << 30) + 1);
}

TEST_CASE("limits: bad sizes are refused, the output untouched") {
    for (const char* t : {"",
                          "M",
                          "G",
                          "-1G",
                          "1.5",
                          "1.G",
                          "1..5G",
                          "1,5G",
                          "1GB",
                          "1 G",
                          " 1G",
                          "1G ",
                          "1Gi",
                          "0",
                          "0M",
                          "1K",
                          "1048575",
                          "0.9M",
                          "abc",
                          "1e9",
                          "99999999999999999G",
                          "16777216T",
                          "18446744075G",  // whole * 10^9 wraps round 2^64
                          "36893488150M",
                          "1.0000000001G",
                          "+1G",
                          "0x100M"})
        CHECK_MESSAGE(bad_size(t), t);
}

TEST_CASE("limits: sizes are written back as they are read") {
    CHECK(format_limit_size(256ULL << 20) == "256M");
    CHECK(format_limit_size(3ULL << 29) == "1536M");
    CHECK(format_limit_size(1ULL << 40) == "1T");
    CHECK(format_limit_size(1000) == "1000");
    CHECK(format_limit_size((1ULL << 20) + 104857) == "1153433");
    for (uint64_t n : {1ULL << 20, 3ULL << 29, (1ULL << 20) + 1, 5ULL << 40, 123ULL << 30})
        CHECK(size_of(format_limit_size(n)) == n);
}

TEST_CASE("limits: CPUs, fractions to a thousandth") {
    CHECK(cpus_of("0.5") == 500);
    CHECK(cpus_of(".5") == 500);
    CHECK(cpus_of("2") == 2000);
    CHECK(cpus_of("1.25") == 1250);
    CHECK(cpus_of("0.01") == 10);
    CHECK(cpus_of("1024") == 1024000);
    CHECK(format_cpus(500) == "0.5");
    CHECK(format_cpus(2000) == "2");
    CHECK(format_cpus(1250) == "1.25");
    CHECK(format_cpus(10) == "0.01");
    CHECK(format_cpus(1005) == "1.005");
    for (const char* t : {"", "0", "0.0", "0.009", "0.0001", "1025", "-1", "1.", ".", "1/2", "half",
                          "1e3", "0.5 ", "2M", "1,5", "99999999999999999"})
        CHECK_MESSAGE(bad_cpus(t), t);
}

TEST_CASE("limits: a process count is whole and positive") {
    uint64_t n = 0;
    CHECK(parse_pids("50", n));
    CHECK(n == 50);
    CHECK(parse_pids("4194304", n));
    CHECK(n == 4194304);
    for (const char* t : {"", "0", "-1", "4194305", "10000000", "1.5", "5 ", "0x10", "1K", "ten"})
        CHECK_MESSAGE(bad_pids(t), t);
}

TEST_CASE("limits: which go to a cgroup") {
    Limits l;
    CHECK(!l.cgroup());
    l.tmpfs_size = 32 << 20;
    CHECK(!l.cgroup());
    l.pids = 5;
    CHECK(l.cgroup());
}

}  // namespace kakuri
