#include "net/address.hpp"
#include "net/handshake.hpp"

#include "protocols/common/sha256.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace peerlab;

TEST_CASE("handshake: a hello survives encoding", "[net][handshake]") {
  net::hello h{0x1122334455667788ULL, "127.0.0.1:4100"};
  auto f = net::encode_hello(h);
  REQUIRE(f.size() == 4 + 2 + 8 + 2 + 14);
  REQUIRE(std::memcmp(f.data(), "PLAB", 4) == 0);
  auto d = net::decode_hello(f);
  REQUIRE(std::holds_alternative<net::hello>(d));
  REQUIRE(std::get<net::hello>(d).id == h.id);
  REQUIRE(std::get<net::hello>(d).listen == h.listen);
}

TEST_CASE("handshake: every truncation of a hello is rejected", "[net][handshake]") {
  auto f = net::encode_hello({42, "127.0.0.1:1"});
  for (std::size_t n = 0; n < f.size(); ++n) {
    auto d = net::decode_hello(byte_view{f.data(), n});
    REQUIRE(std::holds_alternative<std::string>(d));
  }
}

TEST_CASE("handshake: bad magic, version and trailing bytes are rejected", "[net][handshake]") {
  auto f = net::encode_hello({42, "127.0.0.1:1"});
  auto bad_magic = f;
  bad_magic[0] = 'X';
  REQUIRE(std::get<std::string>(net::decode_hello(bad_magic)) == "not a peerlab hello (bad magic)");
  auto bad_version = f;
  bad_version[4] = 2;
  REQUIRE(std::get<std::string>(net::decode_hello(bad_version)) ==
          "unsupported protocol version 2 (this node speaks 1)");
  auto trailing = f;
  trailing.push_back(0);
  REQUIRE(std::get<std::string>(net::decode_hello(trailing)) == "hello has trailing bytes");
  auto long_address = f;
  long_address[14] = 0x00; // address length 256: over the bound
  long_address[15] = 0x01;
  REQUIRE(std::holds_alternative<std::string>(net::decode_hello(long_address)));
}

TEST_CASE("address: host:port parsing", "[net][address]") {
  std::string err;
  auto a = net::parse_address("127.0.0.1:4000", err);
  REQUIRE(a);
  REQUIRE(a->host == "127.0.0.1");
  REQUIRE(a->port == 4000);
  REQUIRE(net::to_string(*a) == "127.0.0.1:4000");
  auto v6 = net::parse_address("[::1]:80", err);
  REQUIRE(v6);
  REQUIRE(net::to_string(*v6) == "[::1]:80");
  for (auto bad : {"127.0.0.1", "127.0.0.1:", ":80", "localhost:80", "1.2.3.4:65536", "1.2.3.4:8x",
                   "[::1:80"}) {
    INFO(bad);
    REQUIRE_FALSE(net::parse_address(bad, err));
    REQUIRE_FALSE(err.empty());
  }
}

TEST_CASE("address: the peer id is the first 8 bytes of SHA-256 of the name", "[net][address]") {
  // SHA-256("alice") = 2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90
  REQUIRE(net::peer_id_from_name("alice") == 0xaf000e7fc906d82bULL);
}
