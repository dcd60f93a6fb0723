// Packet codec: round trips, every kind of header damage, wrong keys, and
// truncation or bit rot at every byte offset of a small packet.
#include "helpers.hpp"

#include "protocols/droplog/compress.hpp"

#include <catch2/catch.hpp>
#include <cstring>

using namespace droplog_test;

namespace {

control_block sample_control() {
  control_block c;
  c.cumulative_ack = 17;
  c.ack_of_ack = 9;
  c.largest_packet = 41;
  c.ack_delay_us = 1234;
  c.message_ranges = {{19, 20}, {25, 30}};
  c.packet_ranges = {{40, 41}, {33, 37}, {1, 30}};
  c.nacks = {{38, 700}, {39, 0}};
  c.blocks = {{12, 3}, {20, 1}};
  return c;
}

std::vector<message_frame> sample_messages() {
  std::vector<message_frame> ms;
  for (std::uint64_t i = 0; i < 4; ++i) {
    message_frame m;
    m.seq = 100 + i;
    m.fragment_index = static_cast<std::uint32_t>(i == 3 ? 1 : 0);
    m.fragment_count = i >= 2 ? 2 : 1;
    m.payload = message_body(i, 20 + 10 * i);
    ms.push_back(m);
  }
  return ms;
}

const direction_keys& keys_ab() {
  static direction_keys k(test_key, side_a, side_b);
  return k;
}

/// Byte offset where message `i` ends (so a prefix of that length holds it whole).
std::size_t message_end(const control_block& c, const std::vector<message_frame>& ms,
                        std::size_t i) {
  std::size_t end = header_bytes + control_size(c);
  for (std::size_t k = 0; k <= i; ++k)
    end += frame_size(ms[k].payload.size());
  return end;
}

} // namespace

TEST_CASE("droplog codec round-trips header, control block and messages", "[droplog][codec]") {
  for (bool encrypt : {false, true}) {
    auto c = sample_control();
    auto ms = sample_messages();
    bytes p = encode_packet(encrypt ? packet_flags::encrypted : 0, side_a, side_b, 77, c, ptrs(ms),
                            keys_ab());
    REQUIRE(p.size() == message_end(c, ms, ms.size() - 1));
    auto d = decode_packet(view(p), keys_ab(), {});
    REQUIRE(d.error == packet_error::none);
    CHECK(d.packet.tail == tail_state::intact);
    CHECK(d.packet.header.sender == side_a);
    CHECK(d.packet.header.recipient == side_b);
    CHECK(d.packet.header.packet_id == 77);
    CHECK(d.packet.header.total_length == p.size());
    CHECK(d.packet.header.message_count == 4);
    CHECK(d.packet.header.flags ==
          (packet_flags::ack_eliciting | (encrypt ? packet_flags::encrypted : 0)));
    REQUIRE(d.packet.control);
    CHECK(*d.packet.control == c);
    CHECK(d.packet.messages == ms);
    auto r = peek_route(view(p));
    REQUIRE(r);
    CHECK(r->sender == side_a);
    CHECK(r->recipient == side_b);
    CHECK(r->packet_id == 77);
  }
}

TEST_CASE("droplog codec ack-only packet has no messages and is not ack-eliciting",
          "[droplog][codec]") {
  control_block c;
  c.cumulative_ack = 5;
  bytes p = encode_packet(0, side_a, side_b, 3, c, {}, keys_ab());
  CHECK(p.size() == header_bytes + control_size(c));
  auto d = decode_packet(view(p), keys_ab(), {});
  REQUIRE(d.error == packet_error::none);
  CHECK(d.packet.header.flags == 0);
  CHECK(d.packet.messages.empty());
  CHECK(*d.packet.control == c);
}

TEST_CASE("droplog codec encrypted payload does not appear in the clear", "[droplog][codec]") {
  message_frame m;
  m.seq = 1;
  m.payload = bytes(200, 'Q');
  bytes plain = encode_packet(0, side_a, side_b, 9, {}, {&m}, keys_ab());
  bytes sealed = encode_packet(packet_flags::encrypted, side_a, side_b, 9, {}, {&m}, keys_ab());
  auto has_run = [](const bytes& b) {
    return std::search_n(b.begin(), b.end(), 32, std::uint8_t('Q')) != b.end();
  };
  CHECK(has_run(plain));
  CHECK_FALSE(has_run(sealed));
  CHECK(plain.size() == sealed.size());
}

TEST_CASE("droplog codec compressed fragments decode to the original bytes", "[droplog][codec]") {
  bytes text(3000);
  for (std::size_t i = 0; i < text.size(); ++i)
    text[i] = static_cast<std::uint8_t>("abcabcabd"[i % 9]);
  auto packed = compress_fragment(view(text));
  REQUIRE(packed);
  CHECK(packed->size() < text.size() / 4);
  message_frame m;
  m.seq = 4;
  m.flags = message_flags::compressed;
  m.payload = *packed;
  bytes p = encode_packet(0, side_a, side_b, 2, {}, {&m}, keys_ab());
  auto d = decode_packet(view(p), keys_ab(), {});
  REQUIRE(d.error == packet_error::none);
  REQUIRE(d.packet.messages.size() == 1);
  CHECK(d.packet.messages[0].payload == text);
  CHECK(d.packet.messages[0].flags == 0);
  // A declared size above the receiver's bound is refused before inflating.
  auto small = decode_packet(view(p), keys_ab(), {limits::packet_bytes_max, 1000});
  CHECK(small.packet.tail == tail_state::damaged);
  CHECK(small.packet.messages.empty());
  CHECK_FALSE(decompress_fragment(view(*packed), 2999));
  CHECK_FALSE(compress_fragment(view(message_body(1, 500))));
}

TEST_CASE("droplog codec truncation at every byte offset keeps exactly the whole leading messages",
          "[droplog][codec][truncation]") {
  for (bool encrypt : {false, true}) {
    auto c = sample_control();
    auto ms = sample_messages();
    bytes p = encode_packet(encrypt ? packet_flags::encrypted : 0, side_a, side_b, 5, c, ptrs(ms),
                            keys_ab());
    for (std::size_t cut = 0; cut < p.size(); ++cut) {
      INFO("cut at " << cut << (encrypt ? " encrypted" : ""));
      auto d = decode_packet(byte_view{p.data(), cut}, keys_ab(), {});
      if (cut < header_bytes) {
        CHECK(d.error == packet_error::too_short);
        continue;
      }
      REQUIRE(d.error == packet_error::none);
      CHECK(d.packet.tail == tail_state::truncated);
      CHECK(d.packet.header.packet_id == 5); // authentic: may be NACKed
      const bool has_control = cut >= header_bytes + control_size(c);
      CHECK(d.packet.control.has_value() == has_control);
      std::size_t expect = 0;
      while (expect < ms.size() && message_end(c, ms, expect) <= cut)
        ++expect;
      REQUIRE(d.packet.messages.size() == expect);
      for (std::size_t i = 0; i < expect; ++i)
        CHECK(d.packet.messages[i] == ms[i]);
    }
  }
}

TEST_CASE("droplog codec bit rot at every byte offset costs only the frame it hits",
          "[droplog][codec][corruption]") {
  for (bool encrypt : {false, true}) {
    auto c = sample_control();
    auto ms = sample_messages();
    bytes p = encode_packet(encrypt ? packet_flags::encrypted : 0, side_a, side_b, 5, c, ptrs(ms),
                            keys_ab());
    const std::size_t ctl_end = header_bytes + control_size(c);
    for (std::size_t at = 0; at < p.size(); ++at) {
      INFO("flipped byte " << at << (encrypt ? " encrypted" : ""));
      bytes q = p;
      q[at] ^= 0x10;
      auto d = decode_packet(view(q), keys_ab(), {});
      if (at < header_bytes) {
        // Any change to the header (fields or tag) rejects the whole file.
        CHECK(d.error != packet_error::none);
        continue;
      }
      REQUIRE(d.error == packet_error::none);
      CHECK(d.packet.tail == tail_state::damaged);
      CHECK(d.packet.control.has_value() == (at >= ctl_end));
      std::vector<message_frame> expect;
      if (at >= ctl_end) {
        // The frame holding the flip: in its header (fields or check) the
        // length cannot be trusted and the file ends; in its payload or tag
        // that frame alone is skipped.
        std::size_t hit = 0;
        while (message_end(c, ms, hit) <= at)
          ++hit;
        const std::size_t start = message_end(c, ms, hit) - frame_size(ms[hit].payload.size());
        const bool in_header = at < start + frame_header_bytes;
        for (std::size_t i = 0; i < ms.size(); ++i)
          if (i < hit || (i > hit && !in_header))
            expect.push_back(ms[i]);
        CHECK(d.packet.damaged_frames == (in_header ? 0u : 1u));
      }
      REQUIRE(d.packet.messages.size() == expect.size());
      for (std::size_t i = 0; i < expect.size(); ++i)
        CHECK(d.packet.messages[i] == expect[i]);
    }
  }
}

TEST_CASE("droplog codec control block varints round-trip extreme ids and refuse bad ones",
          "[droplog][codec]") {
  // Ids far apart, below and above the bases they are written against, and
  // at both ends of the 64-bit range.
  control_block c;
  c.cumulative_ack = UINT64_MAX - 3;
  c.ack_of_ack = 0;
  c.largest_packet = 5;
  c.ack_delay_us = UINT64_MAX;
  c.message_ranges = {{UINT64_MAX - 1, UINT64_MAX}, {0, 0}};
  c.packet_ranges = {{1ull << 63, (1ull << 63) + 9}, {2, 4}, {0, UINT64_MAX}};
  c.nacks = {{UINT64_MAX, UINT32_MAX}, {0, 0}, {7, 12}};
  c.blocks = {{UINT64_MAX, 255}, {3, 0}};
  c.rebuilt = {{1, 1}, {UINT64_MAX, UINT64_MAX}};
  auto p = encode_packet(0, side_a, side_b, 9, c, {}, keys_ab());
  auto d = decode_packet(view(p), keys_ab(), {});
  REQUIRE(d.error == packet_error::none);
  REQUIRE(d.packet.control.has_value());
  CHECK(*d.packet.control == c);
  CHECK(control_size(c) == p.size() - header_bytes);

  // Nearby ids cost a byte or two each: the sample control block is far
  // below the fixed-width layout it replaced (37 + 16 per range + 12 per
  // NACK + 9 per block report).
  auto s = sample_control();
  const std::size_t fixed_width = 37 + 16 * 5 + 12 * 2 + 9 * 2;
  CHECK(control_size(s) - tag_bytes < fixed_width / 2);

  // A varint longer than 10 bytes, or one beyond 64 bits, is malformed: the
  // control block is dropped and the packet counts as damaged.
  for (bytes bad :
       {bytes(11, 0x80), bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}}) {
    bad.resize(bad.size() + 3 + 5, 0); // three more varints and five empty lists
    // A packet whose control bytes are `bad`, signed as a sender would.
    auto packet = encode_packet(0, side_a, side_b, 9, sample_control(), {}, keys_ab());
    bytes q(packet.begin(), packet.begin() + header_field_bytes);
    const std::uint32_t len = static_cast<std::uint32_t>(bad.size());
    std::memcpy(q.data() + header_field_bytes - 8, &len, 4);
    const std::uint64_t total = header_bytes + bad.size() + tag_bytes;
    std::memcpy(q.data() + header_field_bytes - 16, &total, 8);
    const auto& keys = keys_ab();
    const tag htag = keys.header.compute({byte_view{q.data(), header_field_bytes}});
    q.insert(q.end(), htag.begin(), htag.end());
    q.insert(q.end(), bad.begin(), bad.end());
    const tag ctag = keys.header.compute({byte_view{htag.data(), htag.size()}, view(bad)});
    q.insert(q.end(), ctag.begin(), ctag.end());
    auto r = decode_packet(view(q), keys, {});
    REQUIRE(r.error == packet_error::none);
    CHECK(r.packet.tail == tail_state::damaged);
    CHECK(r.packet.tail_detail == "control block malformed");
    CHECK_FALSE(r.packet.control.has_value());
  }
}

TEST_CASE("droplog codec rejects wrong keys, reflected and malformed packets",
          "[droplog][codec][auth]") {
  auto c = sample_control();
  auto ms = sample_messages();
  bytes p = encode_packet(0, side_a, side_b, 5, c, ptrs(ms), keys_ab());

  direction_keys other_key("another key, also long enough!!", side_a, side_b);
  CHECK(decode_packet(view(p), other_key, {}).error == packet_error::bad_header_tag);
  direction_keys reverse(test_key, side_b, side_a); // reflection back to the sender
  CHECK(decode_packet(view(p), reverse, {}).error == packet_error::bad_header_tag);
  direction_keys third(test_key, side_a, 0x0c0c); // replay into another pair
  CHECK(decode_packet(view(p), third, {}).error == packet_error::bad_header_tag);

  bytes longer = p;
  longer.push_back(0);
  CHECK(decode_packet(view(longer), keys_ab(), {}).error == packet_error::too_long);
  CHECK(decode_packet(view(p), keys_ab(), {100, 1000}).error == packet_error::oversize);

  bytes bad_magic = p;
  bad_magic[0] ^= 1;
  CHECK(decode_packet(view(bad_magic), keys_ab(), {}).error == packet_error::bad_magic);
  CHECK_FALSE(peek_route(view(bad_magic)));
  bytes bad_version = p;
  bad_version[4] = 9;
  CHECK(decode_packet(view(bad_version), keys_ab(), {}).error == packet_error::bad_version);
  CHECK_FALSE(peek_route(byte_view{p.data(), 20}));
}

TEST_CASE("droplog codec survives random garbage without crashing", "[droplog][codec][fuzz]") {
  rng r(7);
  std::size_t accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    bytes junk(r.below(300));
    for (auto& b : junk)
      b = static_cast<std::uint8_t>(r.next());
    if (junk.size() >= 5 && r.chance(0.5)) { // valid magic and version, forged rest
      std::uint32_t m = packet_magic;
      std::memcpy(junk.data(), &m, 4);
      junk[4] = packet_version;
    }
    auto d = decode_packet(view(junk), keys_ab(), {});
    accepted += d.error == packet_error::none;
  }
  CHECK(accepted == 0);
}
