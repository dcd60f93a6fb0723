#include "protocols/cdn/cdn.hpp"
#include "protocols/cdn/codec.hpp"
#include "protocols/cdn/commands.hpp"
#include "protocols/cdn/geo.hpp"
#include "protocols/cdn/lru_cache.hpp"
#include "protocols/cdn/signal_msg.hpp"
#include "protocols/cdn/site.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::cdn;

TEST_CASE("cdn frames round trip and every truncation is rejected", "[cdn]") {
  hash224 sha{};
  sha[3] = 7;
  bytes payload(100, 0xab);
  std::vector<bytes> frames = {
    encode_hello(ports::cdn_client, hello{42, false}),
    encode_hello(ports::cdn_client, hello{43, true}),
    encode_request(ports::cdn_origin, request{9, "/img/a.png", sha, 16384, 65536}),
    encode_data(9, 1000, 100, payload),
    encode_reject(9, reject_reason::not_linked),
  };
  for (auto& f : frames) {
    message m;
    std::string err;
    REQUIRE(decode(f, m, err));
    for (std::size_t cut = 0; cut < f.size(); ++cut) {
      if (f[1] == static_cast<std::uint8_t>(frame_type::data) && cut >= 22)
        continue; // a DATA payload may be any length: a short one is still a frame
      INFO("type " << int(f[1]) << " cut " << cut);
      CHECK_FALSE(decode(byte_view{f.data(), cut}, m, err));
    }
  }
  message m;
  std::string err;
  REQUIRE(decode(frames[2], m, err));
  auto& r = std::get<request>(m);
  CHECK(r.url == "/img/a.png");
  CHECK(r.sha == sha);
  CHECK(r.offset == 16384);
  CHECK(r.length == 65536);
  auto extra = frames[0];
  extra.push_back(0);
  CHECK_FALSE(decode(extra, m, err));
  CHECK(err == "trailing bytes");
}

TEST_CASE("cdn DATA past the resource's end and oversized requests are refused", "[cdn]") {
  message m;
  std::string err;
  bytes payload(10, 1);
  CHECK_FALSE(decode(encode_data(1, 5, 0, payload), m, err));
  CHECK(err == "payload past the resource's end");
  auto big = encode_request(ports::cdn_client, request{1, "/x", {}, 0, bounds::window_max + 1});
  CHECK_FALSE(decode(big, m, err));
  CHECK(err.find("length") != std::string::npos);
  bytes unknown = {ports::cdn_client, 9};
  CHECK_FALSE(decode(unknown, m, err));
  CHECK(err == "unknown cdn frame type 9");
}

TEST_CASE("signalling messages parse strictly and round trip", "[cdn]") {
  signal_msg j(msg::join);
  j.count = 3;
  j.lat = 48.85;
  j.lon = 2.35;
  j.asn = 3215;
  j.interests = {"/a.js"};
  j.peers = {18446744073709551615ull};
  std::string err;
  auto back = parse_signal(to_json(j), err);
  REQUIRE(back);
  CHECK(back->type == msg::join);
  CHECK(back->count == 3);
  CHECK(*back->lat == Approx(48.85));
  CHECK(back->asn == 3215);
  REQUIRE(back->peers.size() == 1);
  CHECK(back->peers[0] == 18446744073709551615ull); // 64-bit ids travel as strings

  signal_msg s(msg::signal);
  s.peer = 7;
  s.data = R"({"type":"offer","sdp":"v=0"})";
  back = parse_signal(to_json(s), err);
  REQUIRE(back);
  CHECK(back->data == R"({"sdp":"v=0","type":"offer"})"); // relayed as JSON (keys sorted)

  struct bad_case {
    const char* text;
    const char* error;
  };
  for (auto [text, error] : std::vector<bad_case>{
         {"[1]", "not a JSON object"},
         {"{\"type\":\"hug\"}", "unknown type \"hug\""},
         {"{}", "missing \"type\""},
         {"{\"type\":\"signal\",\"data\":1}", "signal needs \"peer\" (a decimal peer id)"},
         {"{\"type\":\"signal\",\"peer\":\"x1\",\"data\":1}",
          "signal needs \"peer\" (a decimal peer id)"},
         {"{\"type\":\"join\",\"lat\":95,\"lon\":0}",
          "\"lat\" must be in [-90, 90] and \"lon\" in [-180, 180]"},
         {"{\"type\":\"join\",\"lat\":5}", "\"lat\" and \"lon\" come together"},
         {"{\"type\":\"join\",\"want\":99}", "\"want\" must be 0..16"},
         {"{\"type\":\"paired\",\"peer\":\"1\"}", "paired needs \"initiator\" (true or false)"},
         {"{\"type\":\"join\",\"x\":[[[[[[[[[[1]]]]]]]]]]}", "JSON nested deeper than 8"},
       }) {
    INFO(text);
    CHECK_FALSE(parse_signal(text, err));
    CHECK(err == error);
  }
  std::string huge =
    "{\"type\":\"signal\",\"peer\":\"1\",\"data\":\"" + std::string(9000, 'a') + "\"}";
  CHECK_FALSE(parse_signal(huge, err));
  CHECK(err.find("signal data of") == 0);
  CHECK_FALSE(parse_signal(std::string(bounds::signal_message_max + 1, ' '), err));
  CHECK(err.find("message of") == 0);
}

TEST_CASE("listings parse strictly", "[cdn]") {
  auto a = synthetic_resource("/a.js", 1000);
  auto b = synthetic_resource("/b.css", 0);
  CHECK(a.size() == 1000);
  CHECK(a == synthetic_resource("/a.js", 1000)); // the same bytes every time
  CHECK(a != synthetic_resource("/a2.js", 1000));
  std::vector<listed> items = {{"/a.js", 1000, sha224_of(a)}, {"/b.css", 0, sha224_of(b)}};
  std::string err;
  auto back = parse_listing(listing_text(items), err);
  REQUIRE(back);
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].sha == items[0].sha);
  CHECK((*back)[1].url == "/b.css");
  auto sha = hex(items[0].sha);
  for (auto [text, error] : std::vector<std::pair<std::string, std::string>>{
         {sha + " 10 /a\n" + sha + " 10 /a\n", "line 2: duplicate URL /a"},
         {sha + " 10 a\n",
          "line 1: the URL must be a path starting with / (no spaces, at most 512 bytes)"},
         {"xyz 10 /a\n", "line 1: not a 56-hex SHA-224"},
         {sha + " 10 /a", "line 1 has no newline"},
         {sha + " 99999999999 /a\n", "line 1: size must be 0..67108864"},
       }) {
    INFO(text);
    CHECK_FALSE(parse_listing(text, err));
    CHECK(err == error);
  }
}

TEST_CASE("the sha224 of the standard vector", "[cdn]") {
  std::string abc = "abc";
  auto h = sha224_of(byte_view(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()));
  CHECK(hex(h) == "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  CHECK(hash_from_hex(hex(h)) == h);
  CHECK_FALSE(hash_from_hex(hex(h).substr(1)));
}

TEST_CASE("the lru cache keeps recent entries within both bounds", "[cdn]") {
  lru_cache c(3, 1000);
  hash224 s{};
  c.put("/a", s, bytes(100));
  c.put("/b", s, bytes(100));
  c.put("/c", s, bytes(100));
  CHECK(c.find("/a", s)); // a is now the most recent
  c.put("/d", s, bytes(100));
  CHECK_FALSE(c.find("/b", s)); // b was the least recent
  CHECK(c.size() == 3);
  c.put("/e", s, bytes(900)); // over the byte bound: the oldest go
  CHECK(c.bytes_held() <= 1000);
  CHECK(c.find("/e", s));
  CHECK_FALSE(c.put("/huge", s, bytes(2000)));
  hash224 other{};
  other[0] = 1;
  CHECK_FALSE(c.find("/e", other)); // another hash is another resource
}

TEST_CASE("geography: distances, prefixes and the longest match", "[cdn]") {
  CHECK(distance_km(48.8566, 2.3522, 51.5074, -0.1278) == Approx(343.5).epsilon(0.01));
  CHECK(distance_km(0, 0, 0, 180) == Approx(20015).epsilon(0.001));
  auto p = parse_prefix("10.1.0.0/16");
  REQUIRE(p);
  CHECK(p->bits == 16);
  CHECK_FALSE(parse_prefix("10.1.0.0/33"));
  CHECK_FALSE(parse_prefix("10.1.0/16"));
  CHECK(ipv4_of("10.1.2.3:443") == 0x0a010203u);
  CHECK_FALSE(ipv4_of("[::1]:80"));
  std::vector<ip_location> t = {*parse_prefix("10.0.0.0/8"), *parse_prefix("10.1.0.0/16")};
  t[0].asn = 1;
  t[1].asn = 2;
  CHECK(lookup_ip(t, 0x0a010203u)->asn == 2);
  CHECK(lookup_ip(t, 0x0a020203u)->asn == 1);
  CHECK(lookup_ip(t, 0x0b000000u) == nullptr);
}

TEST_CASE("cdn client commands parse with clear errors", "[cdn]") {
  command_error err;
  auto c = parse_command("locate", {"48.85", "2.35", "3215"}, err);
  REQUIRE(c);
  CHECK(std::get<locate>(*c).asn == 3215);
  CHECK_FALSE(parse_command("locate", {"91", "0"}, err));
  CHECK_FALSE(parse_command("fetch", {"/a", "zz"}, err));
  CHECK(err.reason == "not a 56-hex SHA-224: \"zz\"");
  CHECK_FALSE(parse_command("load", {"index"}, err));
  CHECK_FALSE(parse_command("cache_put", {}, err));
  CHECK(err.reason == "cache_put has no text form (the host passes the bytes)");
  CHECK_FALSE(parse_command("fly", {}, err));
  CHECK(err.reason.find("got \"fly\"") != std::string::npos);
}
