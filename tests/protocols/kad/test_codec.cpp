#include "protocols/kad/kad.hpp"
#include "protocols/kad/codec.hpp"
#include "protocols/gossip/gossip.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::kad;

namespace {

message base(msg_type t, std::uint64_t rid = 0x1122334455667788ULL) {
  message m;
  m.type = t;
  m.request_id = rid;
  m.sender_id = id_of(5);
  m.sender_address = "10.0.0.5:4001";
  return m;
}

std::vector<contact> contacts(peer_id first, std::size_t n) {
  std::vector<contact> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(make_contact(first + i, i % 2 ? "" : "127.0.0.1:" + std::to_string(4000 + i)));
  return out;
}

// One message of every type, with every field filled.
std::vector<message> samples() {
  std::vector<message> v;
  v.push_back(base(msg_type::ping));
  v.push_back(base(msg_type::pong));
  auto fn = base(msg_type::find_node);
  fn.key = id_of(77);
  v.push_back(fn);
  auto nodes = base(msg_type::nodes);
  nodes.closer = contacts(100, 20);
  v.push_back(nodes);
  auto add = base(msg_type::add_provider);
  add.key = id_of(78);
  add.provider = make_contact(5, "10.0.0.5:4001");
  v.push_back(add);
  v.push_back(base(msg_type::ack));
  auto err = base(msg_type::err);
  err.code = static_cast<std::uint8_t>(err_code::peer_full);
  err.text = "too many records from this provider";
  v.push_back(err);
  auto gp = base(msg_type::get_providers);
  gp.key = id_of(79);
  v.push_back(gp);
  auto pr = base(msg_type::providers);
  pr.providers = contacts(200, 3);
  pr.closer = contacts(300, 20);
  v.push_back(pr);
  auto empty_pr = base(msg_type::providers);
  v.push_back(empty_pr);
  return v;
}

// Replaces the u8 at `offset` and returns the decode error.
std::string error_after_patch(bytes f, std::size_t offset, std::uint8_t value) {
  f.at(offset) = value;
  auto d = decode(f);
  REQUIRE_FALSE(d.ok);
  return d.error;
}

// Offset of the first byte after the common header (port, type, request id,
// sender id, sender address).
std::size_t body_offset(const message& m) { return 2 + 8 + 1 + 32 + 2 + m.sender_address.size(); }

} // namespace

TEST_CASE("every message type round-trips", "[kad][codec]") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    CHECK(f[0] == ports::kad);
    CHECK(f[1] == static_cast<std::uint8_t>(m.type));
    auto d = decode(f);
    INFO(msg_name(f[1]) << ": " << d.error);
    REQUIRE(d.ok);
    CHECK(d.msg == m);
  }
}

TEST_CASE("exact byte layout of FIND_NODE", "[kad][codec]") {
  message m = base(msg_type::find_node, 0x0807060504030201ULL);
  m.sender_address = "";
  m.key = id_of(1);
  bytes f = encode(m);
  REQUIRE(f.size() == 2 + 8 + 33 + 2 + 33);
  CHECK(f[0] == 3);
  CHECK(f[1] == 3);
  for (int i = 0; i < 8; ++i)
    CHECK(f[2 + i] == i + 1); // little-endian request id
  CHECK(f[10] == 32);
  CHECK(std::equal(f.begin() + 11, f.begin() + 43, id_of(5).begin()));
  CHECK(f[43] == 0);
  CHECK(f[44] == 0);
  CHECK(f[45] == 32);
  CHECK(std::equal(f.begin() + 46, f.end(), id_of(1).begin()));
}

TEST_CASE("every truncation of every message type is rejected", "[kad][codec]") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    for (std::size_t n = 0; n < f.size(); ++n) {
      auto d = decode(byte_view{f.data(), n});
      INFO(msg_name(f[1]) << " cut to " << n << " of " << f.size() << " bytes");
      REQUIRE_FALSE(d.ok);
      REQUIRE_FALSE(d.error.empty());
    }
  }
}

TEST_CASE("trailing bytes are rejected", "[kad][codec]") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    f.push_back(0);
    auto d = decode(f);
    REQUIRE_FALSE(d.ok);
    CHECK(d.error.find("trailing") != std::string::npos);
  }
}

TEST_CASE("wrong port, unknown type and unknown error code are rejected", "[kad][codec]") {
  bytes ping = encode(base(msg_type::ping));
  CHECK(error_after_patch(ping, 0, ports::gossip).find("port") == 0);
  CHECK(error_after_patch(ping, 1, 0).find("unknown message type") != std::string::npos);
  CHECK(error_after_patch(ping, 1, 10).find("unknown message type") != std::string::npos);
  message err = base(msg_type::err);
  err.code = 1;
  bytes f = encode(err);
  CHECK(error_after_patch(f, body_offset(err), 0).find("code") == 0);
  CHECK(error_after_patch(f, body_offset(err), 6).find("code") == 0);
}

TEST_CASE("ids of the wrong size are rejected", "[kad][codec]") {
  // 20-byte (SHA-1 sized) ids, as a 160-bit Kademlia would send, and other sizes.
  for (std::uint8_t bad : {0, 20, 31, 33, 255}) {
    bytes ping = encode(base(msg_type::ping));
    CHECK(error_after_patch(ping, 10, bad).find("sender_id: id must be 32 bytes") == 0);

    message fn = base(msg_type::find_node);
    CHECK(error_after_patch(encode(fn), body_offset(fn), bad).find("target: id must be 32") == 0);

    message nodes = base(msg_type::nodes);
    nodes.closer = contacts(1, 2);
    // body: count u8, then contact = peer u64, id length u8, ...
    CHECK(error_after_patch(encode(nodes), body_offset(nodes) + 1 + 8, bad)
            .find("closer: id must be 32") == 0);

    message add = base(msg_type::add_provider);
    add.provider = make_contact(5);
    CHECK(error_after_patch(encode(add), body_offset(add) + 33 + 8, bad)
            .find("provider: id must be 32") == 0);
  }
}

TEST_CASE("lists longer than their bound are rejected", "[kad][codec]") {
  message nodes = base(msg_type::nodes);
  nodes.closer = contacts(1, limits::contacts_per_message_max);
  bytes f = encode(nodes);
  REQUIRE(decode(f).ok);
  CHECK(error_after_patch(f, body_offset(nodes), limits::contacts_per_message_max + 1)
          .find("closer: 33 entries, at most 32") == 0);

  message pr = base(msg_type::providers);
  pr.providers = contacts(1, limits::providers_per_message_max);
  f = encode(pr);
  REQUIRE(decode(f).ok);
  CHECK(error_after_patch(f, body_offset(pr), limits::providers_per_message_max + 1)
          .find("providers: 65 entries, at most 64") == 0);
  // A count claiming more entries than the bytes can hold fails before allocating.
  CHECK(error_after_patch(encode(base(msg_type::providers)), body_offset(pr), 64)
          .find("providers: truncated") == 0);

  // The encoder never writes more than the bound.
  nodes.closer = contacts(1, 40);
  auto d = decode(encode(nodes));
  REQUIRE(d.ok);
  CHECK(d.msg.closer.size() == limits::contacts_per_message_max);
}

TEST_CASE("duplicate peers in a list and over-long addresses are rejected", "[kad][codec]") {
  message nodes = base(msg_type::nodes);
  nodes.closer = {make_contact(9), make_contact(9)};
  auto d = decode(encode(nodes));
  REQUIRE_FALSE(d.ok);
  CHECK(d.error.find("duplicate peer 9") != std::string::npos);

  message ping = base(msg_type::ping);
  ping.sender_address = std::string(limits::address_bytes_max, 'a');
  bytes f = encode(ping);
  REQUIRE(decode(f).ok);
  // Claim one byte more than the bound (and supply it).
  f[43] = static_cast<std::uint8_t>((limits::address_bytes_max + 1) & 0xff);
  f[44] = static_cast<std::uint8_t>((limits::address_bytes_max + 1) >> 8);
  f.push_back('a');
  d = decode(f);
  REQUIRE_FALSE(d.ok);
  CHECK(d.error.find("sender_address") == 0);
}

TEST_CASE("corrupted frames never crash and whatever decodes re-encodes identically",
          "[kad][codec]") {
  rng r(2024);
  auto all = samples();
  std::size_t accepted = 0, rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    bytes f = encode(all[r.below(all.size())]);
    int flips = 1 + static_cast<int>(r.below(4));
    for (int i = 0; i < flips; ++i)
      f[r.below(f.size())] = static_cast<std::uint8_t>(r.next());
    if (r.chance(0.2))
      f.resize(r.below(f.size() + 1));
    auto d = decode(f);
    if (d.ok) {
      ++accepted;
      // Strict decoding: the encoding of an accepted frame is canonical.
      REQUIRE(encode(d.msg) == f);
    } else {
      ++rejected;
      REQUIRE_FALSE(d.error.empty());
    }
  }
  // Flips inside addresses, ids and request ids still decode; most others do not.
  CHECK(accepted > 1000);
  CHECK(rejected > 1000);
  // Pure random bytes behind a valid port byte.
  for (int round = 0; round < 20000; ++round) {
    bytes f(r.below(200));
    for (auto& b : f)
      b = static_cast<std::uint8_t>(r.next());
    if (!f.empty())
      f[0] = ports::kad;
    auto d = decode(f);
    if (d.ok)
      REQUIRE(encode(d.msg) == f);
  }
}

TEST_CASE("check_ids rejects ids that are not SHA-256 of the peer id", "[kad][codec]") {
  auto exact = [](peer_id p, const kad_id& id) { return id_of(p) == id; };
  message ok = base(msg_type::providers);
  ok.providers = contacts(10, 2);
  ok.closer = contacts(20, 3);
  CHECK(check_ids(ok, 5, exact).empty());
  CHECK(check_ids(ok, 6, exact).find("sender id") == 0);

  message bad_provider = ok;
  bad_provider.providers[1].id = id_of(999);
  CHECK(check_ids(bad_provider, 5, exact).find("a provider's id") == 0);

  message bad_contact = ok;
  bad_contact.closer[2].id[0] ^= 1;
  CHECK(check_ids(bad_contact, 5, exact).find("a contact's id") == 0);

  message add = base(msg_type::add_provider);
  add.provider = make_contact(5);
  add.provider.id = id_of(6);
  CHECK(check_ids(add, 5, exact).find("provider id") == 0);
}
