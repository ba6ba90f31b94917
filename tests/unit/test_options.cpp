// Unit tests for options: a bind as written, taken apart (split_bind), which --bind and a
// config's bind lists both go through.
#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "options.hpp"
#include "sys.hpp"

namespace kakuri {

TEST_CASE("options: split_bind takes SRC[:DST][:ro|:rw] apart, nothing expanded") {
    struct Row {
        const char* text;
        const char* src;
        const char* dst;
        const char* mode;
    };
    const Row rows[] = {
        {"/data", "/data", "", ""},
        {"/data:/mnt", "/data", "/mnt", ""},
        {"/data:ro", "/data", "", "ro"},
        {"/data:rw", "/data", "", "rw"},
        {"/data:/mnt:ro", "/data", "/mnt", "ro"},
        {"~/src:~/dst:rw", "~/src", "~/dst", "rw"},
        {"rel:dst", "rel", "dst", ""},  // the caller decides what a relative path means
        {"ro", "ro", "", ""},           // one field: a path, whatever it is called
        {"ro:ro", "ro", "", "ro"},
        {"/a:RO", "/a", "RO", ""},  // the mode is lower case: RO is a destination
    };
    for (const Row& r : rows) {
        CAPTURE(r.text);
        const BindText t = split_bind(r.text);
        CHECK(t.well_formed);
        CHECK(t.src == r.src);
        CHECK(t.dst == r.dst);
        CHECK(t.mode == r.mode);
    }
}

TEST_CASE("options: split_bind refuses other shapes, and still says the mode they end with") {
    const std::pair<const char*, const char*> rows[] = {
        {"", ""},
        {":", ""},
        {":/mnt", ""},
        {"/a:", ""},
        {"/a::ro", "ro"},
        {":ro", "ro"},
        {"/a:/b:/c", ""},
        {"/a:/b:/c:rw", "rw"},
        {"/a:/b:ro:rw", "rw"},
        {"::", ""},
    };
    for (const auto& row : rows) {
        const char* text = row.first;  // CAPTURE is a lambda: no structured binding (clang)
        CAPTURE(text);
        const BindText t = split_bind(text);
        CHECK_FALSE(t.well_formed);
        CHECK(t.mode == row.second);
    }
}

}  // namespace kakuri

namespace kakuri {

TEST_CASE("options: parse_publish reads [HOSTIP:]HOSTPORT:PORT[/tcp|/udp], ranges too") {
    Publish p = parse_publish("8080:80");
    CHECK(p.host_ip == "127.0.0.1");  // loopback unless asked: the safe default
    CHECK(p.host_port == 8080);
    CHECK(p.port == 80);
    CHECK(p.count == 1);
    CHECK_FALSE(p.udp);
    p = parse_publish("0.0.0.0:5353:53/udp");
    CHECK(p.host_ip == "0.0.0.0");
    CHECK(p.udp);
    CHECK(p.host_port == 5353);
    p = parse_publish("192.0.2.7:8000-8009:9000-9009/tcp");
    CHECK(p.host_ip == "192.0.2.7");
    CHECK(p.host_port == 8000);
    CHECK(p.port == 9000);
    CHECK(p.count == 10);
    CHECK(format_publish(p) == "192.0.2.7:8000-8009:9000-9009/tcp");
    CHECK(format_publish(parse_publish("1:65535/udp")) == "127.0.0.1:1:65535/udp");
}

TEST_CASE("options: parse_publish refuses anything else, saying what is wrong") {
    for (const char* bad : {"",
                            "80",
                            "80:",
                            ":80",
                            "0:80",
                            "80:0",
                            "65536:80",
                            "80:65536",
                            "x:80",
                            "80:8x",
                            "80:80/sctp",
                            "80:80/",
                            "8000-8001:80",
                            "8001-8000:80-79",
                            "::1:80:80",
                            "localhost:80:80",
                            "1.2.3:80:80",
                            "1.2.3.4:5:6:7",
                            "-1:80",
                            "80-:80-",
                            "123456:80"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_publish(bad), Error);
    }
    CHECK_THROWS_WITH(parse_publish("80:80/sctp"),
                      "--publish '80:80/sctp': the protocol is tcp or udp (the form is "
                      "[HOSTIP:]HOSTPORT:PORT[/tcp|/udp])");
    CHECK_THROWS_WITH(parse_publish("8000-8001:80"),
                      "--publish '8000-8001:80': the two ranges differ in length (the form is "
                      "[HOSTIP:]HOSTPORT:PORT[/tcp|/udp])");
    // A newline cannot forge a line of the message.
    CHECK_THROWS_WITH(parse_publish("80:80\nkakuri: ok"),
                      doctest::Contains("'80:80\\nkakuri: ok'"));
}

TEST_CASE("options: publish_overlap: one host port of one protocol on one address, once") {
    auto o = [](const char* a, const char* b) {
        return publish_overlap(parse_publish(a), parse_publish(b));
    };
    CHECK(o("8080:80", "8080:81"));
    CHECK(o("8000-8010:9000-9010", "8010:80"));
    CHECK(o("0.0.0.0:8080:80", "8080:81"));  // all addresses include 127.0.0.1
    CHECK_FALSE(o("8080:80", "8080:80/udp"));
    CHECK_FALSE(o("8000-8010:9000-9010", "8011:80"));
    CHECK_FALSE(o("127.0.0.1:8080:80", "127.0.0.2:8080:80"));
}

TEST_CASE("options: valid_ip and valid_ipv6") {
    CHECK(valid_ip("127.0.0.1"));
    CHECK(valid_ip("2001:db8::53"));
    CHECK(valid_ip("::1"));
    CHECK(valid_ipv6("::1"));
    CHECK_FALSE(valid_ipv6("127.0.0.1"));
    // A zone names a host's interface, which means nothing to pasta's upstream.
    CHECK_FALSE(valid_ip("fe80::1%eth0"));
    CHECK_FALSE(valid_ip("localhost"));
    CHECK_FALSE(valid_ip("1.2.3.4 "));
    CHECK_FALSE(valid_ip(""));
}

}  // namespace kakuri
