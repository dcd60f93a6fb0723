// Packets of the file-drop message log. The first input byte picks a mode:
//  - raw: the rest is a dropped file as found in the spool (mostly refused at
//    the header tag; never a crash, and refusals say why);
//  - built: the rest describes a control block and messages, the harness
//    encodes a genuine packet (plain or encrypted), then cuts it and flips a
//    byte where the input says. An intact packet decodes to what was encoded;
//    a damaged or cut one yields a prefix of the messages and never a message
//    that was not sent.
#include "fuzz_check.hpp"
#include "protocols/droplog/codec.hpp"

#include <fuzzer/FuzzedDataProvider.h>

using namespace peerlab;
using namespace peerlab::droplog;

namespace {

constexpr peer_id sender = 0x0a0a, recipient = 0x0b0b;

const direction_keys& keys() {
  static const direction_keys k("droplog fuzz key: 32 bytes long!", sender, recipient);
  return k;
}

decode_limits small_limits() {
  decode_limits lim;
  lim.max_packet_bytes = 1u << 20;
  lim.max_fragment_bytes = 4096;
  lim.max_symbol_bytes = 8192;
  return lim;
}

void check_result(const decode_result& r, const decode_limits& lim) {
  if (r.error != packet_error::none)
    return fuzz::require_error_text(std::string(to_string(r.error)) + r.detail);
  const auto& p = r.packet;
  fuzz::require(p.messages.size() <= p.header.message_count, "droplog more messages than declared");
  for (auto& m : p.messages) {
    if (m.flags == message_flags::coded) {
      // An erasure-coded symbol: index and k within one GF(2^8) block.
      fuzz::require(m.payload.size() <= lim.max_symbol_bytes, "droplog symbol over its bound");
      fuzz::require(m.fragment_index < 255 && m.fragment_count > 0 && m.fragment_count < 256,
                    "droplog symbol index or k out of range");
      continue;
    }
    fuzz::require(m.payload.size() <= lim.max_fragment_bytes, "droplog fragment over its bound");
    fuzz::require(m.fragment_index < m.fragment_count, "droplog fragment index not below count");
  }
  if (p.tail != tail_state::intact)
    fuzz::require(!p.tail_detail.empty(), "droplog damaged tail without a reason");
}

void raw(byte_view in) {
  auto lim = small_limits();
  auto r = decode_packet(in, keys(), lim);
  check_result(r, lim);
  if (r.error == packet_error::none) {
    auto route = peek_route(in);
    fuzz::require(route && route->sender == r.packet.header.sender &&
                    route->packet_id == r.packet.header.packet_id,
                  "droplog peek_route disagrees with the decoded header");
  }
}

std::vector<id_range> ranges(FuzzedDataProvider& fdp) {
  std::vector<id_range> out(fdp.ConsumeIntegralInRange<std::size_t>(0, 4));
  for (auto& r : out) {
    r.first = fdp.ConsumeIntegral<std::uint32_t>();
    r.last = r.first + fdp.ConsumeIntegral<std::uint16_t>();
  }
  return out;
}

void built(FuzzedDataProvider& fdp) {
  control_block c;
  c.cumulative_ack = fdp.ConsumeIntegral<std::uint64_t>();
  c.ack_of_ack = fdp.ConsumeIntegral<std::uint64_t>();
  c.largest_packet = fdp.ConsumeIntegral<std::uint64_t>();
  c.ack_delay_us = fdp.ConsumeIntegral<std::uint32_t>();
  c.message_ranges = ranges(fdp);
  c.packet_ranges = ranges(fdp);
  c.nacks.resize(fdp.ConsumeIntegralInRange<std::size_t>(0, 4));
  for (auto& n : c.nacks)
    n = {fdp.ConsumeIntegral<std::uint64_t>(), fdp.ConsumeIntegral<std::uint32_t>()};
  c.blocks.resize(fdp.ConsumeIntegralInRange<std::size_t>(0, 4));
  for (auto& b : c.blocks)
    b = {fdp.ConsumeIntegral<std::uint64_t>(), fdp.ConsumeIntegral<std::uint8_t>()};
  std::vector<message_frame> ms(fdp.ConsumeIntegralInRange<std::size_t>(0, 4));
  for (auto& m : ms) {
    m.seq = fdp.ConsumeIntegral<std::uint64_t>();
    m.fragment_count = fdp.ConsumeIntegralInRange<std::uint32_t>(1, 8);
    m.fragment_index = fdp.ConsumeIntegralInRange<std::uint32_t>(0, m.fragment_count - 1);
    auto text = fdp.ConsumeRandomLengthString(256);
    m.payload.assign(text.begin(), text.end());
  }
  const bool encrypt = fdp.ConsumeBool();
  const auto packet_id = fdp.ConsumeIntegral<std::uint64_t>();
  std::vector<const message_frame*> ptrs;
  for (auto& m : ms)
    ptrs.push_back(&m);
  bytes p = encode_packet(encrypt ? packet_flags::encrypted : 0, sender, recipient, packet_id, c,
                          ptrs, keys());
  auto lim = small_limits();

  const auto cut = fdp.ConsumeIntegralInRange<std::size_t>(0, p.size());
  const bool flip = fdp.ConsumeBool();
  const auto flip_at = fdp.ConsumeIntegralInRange<std::size_t>(0, p.size() - 1);
  const auto flip_mask = fdp.ConsumeIntegralInRange<std::uint8_t>(1, 255);

  auto whole = decode_packet(p, keys(), lim);
  fuzz::require(whole.error == packet_error::none && whole.packet.tail == tail_state::intact,
                "droplog a genuine packet does not decode intact", whole.packet.tail_detail);
  fuzz::require(whole.packet.control == c, "droplog control block changed in a round trip");
  fuzz::require(whole.packet.messages == ms, "droplog messages changed in a round trip");

  bytes damaged(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(cut));
  if (flip && flip_at < damaged.size())
    damaged[flip_at] ^= flip_mask;
  auto r = decode_packet(damaged, keys(), lim);
  check_result(r, lim);
  if (r.error != packet_error::none)
    return;
  // Whatever survived is what was sent, byte for byte and in order: a
  // prefix, less the one frame a flipped byte may have cost (its header
  // check held, so the frames after it were still read).
  fuzz::require(r.packet.messages.size() <= ms.size(), "droplog damage added messages");
  fuzz::require(r.packet.damaged_frames <= (flip ? 1u : 0u),
                "droplog more frames skipped than flipped");
  auto prefix_without = [&](std::size_t skipped) { // skipped == ms.size(): none
    std::vector<message_frame> want;
    for (std::size_t i = 0; i < ms.size() && want.size() < r.packet.messages.size(); ++i)
      if (i != skipped)
        want.push_back(ms[i]);
    return want == r.packet.messages;
  };
  bool matches = prefix_without(ms.size());
  for (std::size_t j = 0; j < ms.size() && !matches && r.packet.damaged_frames > 0; ++j)
    matches = prefix_without(j);
  fuzz::require(matches, "droplog damage changed a verified message");
  if (r.packet.control)
    fuzz::require(*r.packet.control == c, "droplog damage changed a verified control block");
  if (cut < p.size())
    fuzz::require(r.packet.tail == tail_state::truncated, "droplog a cut packet is not truncated");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  if (data[0] & 1) {
    FuzzedDataProvider fdp(data + 1, size - 1);
    built(fdp);
  } else {
    raw(fuzz::view(data + 1, size - 1));
  }
  return 0;
}
