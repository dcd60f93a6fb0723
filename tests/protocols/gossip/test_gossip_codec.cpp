// The gossipsub wire codec: round trips at the bounds, truncation at every
// offset, malformed fields, random corruption, and a role fed garbage.
#include "single_role.hpp"
#include "protocols/gossip/gossip.hpp"
#include "protocols/kad/kad.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::gossip;

namespace {

msg_id id_of(int k) {
  msg_id id{};
  for (std::size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<std::uint8_t>(k * 7 + i);
  return id;
}

std::vector<frame_body> samples() {
  std::vector<msg_id> many;
  for (int k = 0; k < 5000; ++k)
    many.push_back(id_of(k));
  std::vector<subscription> subs;
  for (int k = 0; k < 64; ++k)
    subs.push_back({k % 2 == 0, "topic-" + std::to_string(k)});
  return {
    subscriptions_msg{},
    subscriptions_msg{{{true, "file-set"}, {false, "x"}}},
    subscriptions_msg{subs},
    message_msg{"file-set", 1, bytes{1, 2, 3}},
    message_msg{std::string(256, 'T'), 255, bytes{}},
    message_msg{"t", 0, bytes(1u << 20, 0xab)},
    ihave_msg{"file-set", {id_of(1)}},
    ihave_msg{"t", many},
    iwant_msg{{id_of(1), id_of(2)}},
    iwant_msg{many},
    graft_msg{"file-set"},
    prune_msg{"file-set", 60},
    prune_msg{"t", 3600},
    prune_msg{"t", 0},
  };
}

bool decodes(const bytes& b, frame_body& out, std::string& err) {
  return decode(b, limits::message_bytes_max, out, err);
}

std::string error_of(const bytes& b, std::size_t max_message = limits::message_bytes_max) {
  frame_body out;
  std::string err;
  if (decode(b, max_message, out, err))
    return "decoded";
  return err;
}

} // namespace

TEST_CASE("gossip codec round trips every message type at its bounds", "[gossip][codec]") {
  for (auto& s : samples()) {
    auto enc = encode(s);
    REQUIRE(enc[0] == ports::gossip);
    frame_body back;
    std::string err;
    INFO("type " << type_name(enc[1]));
    REQUIRE(decodes(enc, back, err));
    CHECK(back == s);
    CHECK(encode(back) == enc);
  }
}

TEST_CASE("gossip codec rejects truncation at every offset and trailing bytes", "[gossip][codec]") {
  for (auto& s : samples()) {
    auto enc = encode(s);
    if (enc.size() > 100'000)
      enc = encode(message_msg{"t", 0, bytes(300, 1)}); // keep the loop small
    INFO("type " << type_name(enc[1]) << ", " << enc.size() << " bytes");
    for (std::size_t len = 0; len < enc.size(); ++len) {
      frame_body out;
      std::string err;
      REQUIRE_FALSE(decode(byte_view{enc.data(), len}, limits::message_bytes_max, out, err));
      REQUIRE_FALSE(err.empty());
    }
    auto longer = enc;
    longer.push_back(0);
    CHECK(error_of(longer) == "trailing bytes");
  }
}

TEST_CASE("gossip codec rejects malformed fields with a reason", "[gossip][codec]") {
  CHECK(error_of({}) == "frame shorter than its header");
  CHECK(error_of({ports::gossip}) == "frame shorter than its header");
  CHECK(error_of({ports::kad, 1, 0}) == "frame is not for the gossip port");
  CHECK(error_of({ports::gossip, 99}) == "unknown message type");
  CHECK(error_of({ports::gossip, 0}) == "unknown message type");

  auto sub = encode(subscriptions_msg{{{true, "ab"}}});
  sub[3] = 2; // flag
  CHECK(error_of(sub) == "subscription flag must be 0 or 1");
  sub = encode(subscriptions_msg{{{true, "ab"}}});
  sub[2] = 65; // count
  CHECK(error_of(sub) == "more than 64 subscriptions in one frame");

  CHECK(error_of(encode(graft_msg{""})) == "topic empty or not printable ASCII");
  CHECK(error_of(encode(graft_msg{"a b"})) == "topic empty or not printable ASCII");
  CHECK(error_of(encode(graft_msg{"tab\t"})) == "topic empty or not printable ASCII");
  CHECK(error_of(encode(graft_msg{std::string(257, 'x')})) ==
        "topic truncated or longer than 256 bytes");

  CHECK(error_of(encode(iwant_msg{})) == "id count must be 1..5000");
  CHECK(error_of(encode(ihave_msg{"t", {}})) == "id count must be 1..5000");
  std::vector<msg_id> too_many(5001, id_of(0));
  CHECK(error_of(encode(iwant_msg{too_many})) == "id count must be 1..5000");

  CHECK(error_of(encode(prune_msg{"t", 3601})) == "backoff longer than one hour");

  // The size bound is checked on the declared length, before the bytes.
  auto msg = encode(message_msg{"t", 1, bytes(1001, 0)});
  CHECK(error_of(msg, 1000) == "message larger than the size bound");
  CHECK(error_of(msg, 1001) == "decoded");
  msg.resize(msg.size() - 1000); // declared 1001, only 1 byte present
  CHECK(error_of(msg, 1000) == "message larger than the size bound");
  CHECK(error_of(msg, 2000) == "message data truncated");
}

TEST_CASE("gossip codec survives random corruption and stays canonical", "[gossip][codec]") {
  rng r(2024);
  std::vector<bytes> frames;
  for (auto& s : samples()) {
    auto e = encode(s);
    if (e.size() < 10'000)
      frames.push_back(std::move(e));
  }
  std::size_t accepted = 0, rejected = 0;
  for (int iter = 0; iter < 50'000; ++iter) {
    auto b = frames[r.below(frames.size())];
    const auto flips = 1 + r.below(4);
    for (std::uint64_t f = 0; f < flips; ++f)
      b[r.below(b.size())] ^= static_cast<std::uint8_t>(1 + r.below(255));
    if (r.chance(0.3))
      b.resize(r.below(b.size() + 1));
    if (r.chance(0.1))
      b.push_back(static_cast<std::uint8_t>(r.below(256)));
    frame_body out;
    std::string err;
    if (decodes(b, out, err)) {
      REQUIRE(encode(out) == b);
      ++accepted;
    } else {
      REQUIRE_FALSE(err.empty());
      ++rejected;
    }
  }
  CHECK(accepted > 1000);
  CHECK(rejected > 1000);
}

TEST_CASE("gossip role counts corrupted frames as rejected and keeps working", "[gossip][codec]") {
  gossip_test::single_role r;
  r.add_peer(2, {"t"});
  r.command("subscribe", {"t"});
  rng g(5);
  auto good = encode(message_msg{"t", 1, bytes(40, 3)});
  double rejected = 0, delivered = 0;
  for (int i = 0; i < 5000; ++i) {
    auto b = good;
    b[g.below(b.size())] ^= static_cast<std::uint8_t>(1 + g.below(255));
    if (g.chance(0.5))
      b.resize(g.below(b.size()));
    r.raw(2, b);
    rejected += r.count("frames_rejected");
    delivered += r.find_event("gossip_delivered") != nullptr;
  }
  CHECK(rejected > 2500);
  CHECK(rejected + delivered <= 5000);
  // Still healthy: a clean message is delivered.
  r.raw(2, encode(message_msg{"t", 1, bytes(40, 9)}));
  CHECK(r.find_event("gossip_delivered"));
}
