#include "protocols/droplog/codec.hpp"

#include "protocols/common/wire.hpp"
#include "protocols/droplog/compress.hpp"

#include <algorithm>
#include <cstring>

#include <zlib.h>

namespace peerlab::droplog {

namespace {

byte_view view(const tag& t) { return {t.data(), t.size()}; }

std::uint32_t frame_check(const std::uint8_t* fields) {
  return static_cast<std::uint32_t>(
    crc32(crc32(0L, Z_NULL, 0), fields, static_cast<uInt>(frame_fields_bytes)));
}

// Ids are written as differences from the previous one, zigzag LEB128: the
// nearby ids of an ack list take one or two bytes each instead of eight.
void put_delta(wire::writer& w, std::uint64_t v, std::uint64_t& prev) {
  const std::uint64_t d = v - prev; // two's complement difference
  w.varint((d << 1) ^ (0 - (d >> 63)));
  prev = v;
}

bool get_delta(wire::reader& r, std::uint64_t& v, std::uint64_t& prev) {
  std::uint64_t z = 0;
  if (!r.varint(z))
    return false;
  v = prev + ((z >> 1) ^ (0 - (z & 1)));
  prev = v;
  return true;
}

auto range_writer(std::uint64_t& prev) {
  return [&prev](wire::writer& w, const id_range& r) {
    put_delta(w, r.first, prev);
    w.varint(r.last - r.first);
    prev = r.last;
  };
}

auto range_reader(std::uint64_t& prev) {
  return [&prev](wire::reader& r, id_range& x) {
    std::uint64_t len = 0;
    if (!get_delta(r, x.first, prev) || !r.varint(len) || len > UINT64_MAX - x.first)
      return false;
    x.last = x.first + len;
    prev = x.last;
    return true;
  };
}

bytes control_bytes(const control_block& c) {
  bytes out;
  out.reserve(64 + 4 * (c.message_ranges.size() + c.packet_ranges.size() + c.nacks.size() +
                        c.blocks.size() + c.rebuilt.size()));
  wire::writer w(out);
  w.varint(c.cumulative_ack);
  w.varint(c.ack_of_ack);
  w.varint(c.largest_packet);
  w.varint(c.ack_delay_us);
  std::uint64_t prev = c.cumulative_ack;
  w.list8(c.message_ranges, range_writer(prev));
  prev = c.largest_packet;
  w.list8(c.packet_ranges, range_writer(prev));
  prev = c.largest_packet;
  w.list8(c.nacks, [&](wire::writer& w, const nack_entry& n) {
    put_delta(w, n.id, prev);
    w.varint(n.bytes_read);
  });
  prev = c.largest_packet;
  w.list8(c.blocks, [&](wire::writer& w, const block_report& b) {
    put_delta(w, b.block, prev);
    w.u8(b.have);
  });
  prev = c.largest_packet;
  w.list8(c.rebuilt, range_writer(prev));
  return out;
}

bool parse_control(byte_view b, control_block& c) {
  wire::reader r(b);
  if (!r.varint(c.cumulative_ack) || !r.varint(c.ack_of_ack) || !r.varint(c.largest_packet) ||
      !r.varint(c.ack_delay_us))
    return false;
  std::uint64_t prev = c.cumulative_ack;
  if (!r.list8(c.message_ranges, limits::ack_ranges_max, range_reader(prev)))
    return false;
  prev = c.largest_packet;
  if (!r.list8(c.packet_ranges, limits::ack_ranges_max, range_reader(prev)))
    return false;
  prev = c.largest_packet;
  if (!r.list8(c.nacks, limits::nacks_max, [&](wire::reader& r, nack_entry& n) {
        std::uint64_t read = 0;
        if (!get_delta(r, n.id, prev) || !r.varint(read) || read > UINT32_MAX)
          return false;
        n.bytes_read = static_cast<std::uint32_t>(read);
        return true;
      }))
    return false;
  prev = c.largest_packet;
  if (!r.list8(c.blocks, limits::block_reports_max, [&](wire::reader& r, block_report& b) {
        return get_delta(r, b.block, prev) && r.u8(b.have);
      }))
    return false;
  prev = c.largest_packet;
  return r.list8(c.rebuilt, limits::ack_ranges_max, range_reader(prev)) && r.at_end();
}

// Largest possible encoding: every varint at its 10 bytes.
constexpr std::size_t max_control_bytes = 4 * 10 + 5 + 3 * limits::ack_ranges_max * 20 +
                                          limits::nacks_max * 15 + limits::block_reports_max * 11;

} // namespace

std::size_t control_size(const control_block& c) { return control_bytes(c).size() + tag_bytes; }

bytes encode_packet(std::uint8_t flags, peer_id sender, peer_id recipient, std::uint64_t packet_id,
                    const control_block& control, const std::vector<const message_frame*>& messages,
                    const direction_keys& keys) {
  flags &= packet_flags::encrypted;
  if (!messages.empty())
    flags |= packet_flags::ack_eliciting;
  const bool encrypt = flags & packet_flags::encrypted;
  bytes ctl = control_bytes(control);
  std::uint64_t total = header_bytes + ctl.size() + tag_bytes;
  for (auto* m : messages)
    total += frame_size(m->payload.size());

  bytes out;
  out.reserve(total);
  wire::writer w(out);
  w.u32(packet_magic);
  w.u8(packet_version);
  w.u8(flags);
  w.u16(0);
  w.u64(sender);
  w.u64(recipient);
  w.u64(packet_id);
  w.u64(total);
  w.u32(static_cast<std::uint32_t>(ctl.size()));
  w.u32(static_cast<std::uint32_t>(messages.size()));
  const tag htag = keys.header.compute({byte_view{out.data(), header_field_bytes}});
  w.fixed(htag);
  w.raw(ctl);
  w.fixed(keys.header.compute({view(htag), ctl}));

  std::uint32_t index = 0;
  for (auto* m : messages) {
    std::uint8_t fh[frame_header_bytes];
    std::uint32_t len = static_cast<std::uint32_t>(m->payload.size());
    std::memcpy(fh, &m->seq, 8);
    std::memcpy(fh + 8, &m->fragment_index, 4);
    std::memcpy(fh + 12, &m->fragment_count, 4);
    std::memcpy(fh + 16, &len, 4);
    fh[20] = m->flags;
    const std::uint32_t check = frame_check(fh);
    std::memcpy(fh + frame_fields_bytes, &check, 4);
    std::uint8_t idx[4];
    std::memcpy(idx, &index, 4);
    w.raw({fh, frame_header_bytes});
    tag t{};
    if (encrypt) {
      bytes aad;
      aad.reserve(tag_bytes + 4 + frame_header_bytes);
      aad.insert(aad.end(), htag.begin(), htag.end());
      aad.insert(aad.end(), idx, idx + 4);
      aad.insert(aad.end(), fh, fh + frame_header_bytes);
      std::size_t at = out.size();
      out.resize(at + len);
      gcm_seal(keys.cipher, packet_id, index, aad, m->payload, out.data() + at, t);
    } else {
      w.raw(m->payload);
      t = keys.message.compute({view(htag), {idx, 4}, {fh, frame_header_bytes}, m->payload});
    }
    w.fixed(t);
    ++index;
  }
  return out;
}

std::optional<route> peek_route(byte_view data) {
  wire::reader r(data);
  std::uint32_t magic = 0;
  std::uint8_t ver = 0, flags = 0;
  std::uint16_t reserved = 0;
  route out;
  if (!r.u32(magic) || magic != packet_magic || !r.u8(ver) || !r.u8(flags) || !r.u16(reserved) ||
      !r.u64(out.sender) || !r.u64(out.recipient) || !r.u64(out.packet_id))
    return std::nullopt;
  return out;
}

const char* to_string(packet_error e) {
  switch (e) {
  case packet_error::none:
    return "none";
  case packet_error::too_short:
    return "too_short";
  case packet_error::bad_magic:
    return "bad_magic";
  case packet_error::bad_version:
    return "bad_version";
  case packet_error::bad_flags:
    return "bad_flags";
  case packet_error::bad_header_tag:
    return "bad_header_tag";
  case packet_error::oversize:
    return "oversize";
  case packet_error::too_long:
    return "too_long";
  case packet_error::bad_control_length:
    return "bad_control_length";
  }
  return "?";
}

decode_result decode_packet(byte_view data, const direction_keys& keys, const decode_limits& lim) {
  decode_result res;
  auto fail = [&](packet_error e, std::string detail) {
    res.error = e;
    res.detail = std::move(detail);
    return std::move(res);
  };
  if (data.size() < header_bytes)
    return fail(packet_error::too_short, "packet of " + std::to_string(data.size()) + " bytes");
  wire::reader r(data);
  std::uint32_t magic = 0;
  std::uint8_t ver = 0;
  std::uint16_t reserved = 0;
  auto& h = res.packet.header;
  r.u32(magic);
  r.u8(ver);
  r.u8(h.flags);
  r.u16(reserved);
  r.u64(h.sender);
  r.u64(h.recipient);
  r.u64(h.packet_id);
  r.u64(h.total_length);
  r.u32(h.control_length);
  r.u32(h.message_count);
  if (magic != packet_magic)
    return fail(packet_error::bad_magic, "not a droplog packet");
  if (ver != packet_version)
    return fail(packet_error::bad_version, "version " + std::to_string(ver));
  tag htag{};
  r.fixed(htag);
  const tag want = keys.header.compute({data.first(header_field_bytes)});
  if (!tags_equal(want, htag.data()))
    return fail(packet_error::bad_header_tag, "header tag mismatch");
  // From here on the header is authentic: only truncation or bit rot in the
  // tail can go wrong, and the packet id may be NACKed.
  if ((h.flags & ~packet_flags::known) || reserved != 0)
    return fail(packet_error::bad_flags, "unknown flags");
  if (h.total_length > lim.max_packet_bytes)
    return fail(packet_error::oversize, "declared " + std::to_string(h.total_length) + " bytes");
  if (data.size() > h.total_length)
    return fail(packet_error::too_long, "more bytes than declared");
  if (h.control_length < control_min_bytes || h.control_length > max_control_bytes ||
      h.message_count > limits::messages_per_packet_max ||
      ((h.flags & packet_flags::ack_eliciting) != 0) != (h.message_count > 0))
    return fail(packet_error::bad_control_length, "inconsistent header fields");

  auto& p = res.packet;
  const bool truncated = data.size() < h.total_length;
  p.usable_bytes = header_bytes;
  auto stop = [&](tail_state s, std::string why) {
    p.tail = truncated ? tail_state::truncated : s;
    p.tail_detail = p.damaged_frames ? p.tail_detail + "; then " + why : std::move(why);
    return std::move(res);
  };
  if (r.remaining() < h.control_length + tag_bytes)
    return stop(tail_state::damaged, "control block cut");
  byte_view ctl = data.subspan(header_bytes, h.control_length);
  const std::uint8_t* ctag = data.data() + header_bytes + h.control_length;
  if (!tags_equal(keys.header.compute({{htag.data(), htag.size()}, ctl}), ctag))
    return stop(tail_state::damaged, "control tag mismatch");
  control_block c;
  if (!parse_control(ctl, c))
    return stop(tail_state::damaged, "control block malformed");
  p.control = std::move(c);
  p.usable_bytes = header_bytes + h.control_length + tag_bytes;

  const bool encrypt = h.flags & packet_flags::encrypted;
  std::size_t pos = header_bytes + h.control_length + tag_bytes;
  // A frame whose header check holds but whose payload fails is skipped:
  // bit rot costs that frame, not the rest of the file. A header that fails
  // its check ends the file: its length cannot be trusted.
  auto skip = [&](std::string why) {
    if (p.damaged_frames++ == 0)
      p.tail_detail = std::move(why);
  };
  for (std::uint32_t index = 0; index < h.message_count; ++index) {
    const std::string where = "message " + std::to_string(index);
    if (data.size() - pos < frame_header_bytes)
      return stop(tail_state::damaged, where + " header cut");
    const std::uint8_t* fh = data.data() + pos;
    std::uint32_t check = 0;
    std::memcpy(&check, fh + frame_fields_bytes, 4);
    if (check != frame_check(fh))
      return stop(tail_state::damaged, where + " header check failed");
    message_frame m;
    std::uint32_t len = 0;
    std::memcpy(&m.seq, fh, 8);
    std::memcpy(&m.fragment_index, fh + 8, 4);
    std::memcpy(&m.fragment_count, fh + 12, 4);
    std::memcpy(&len, fh + 16, 4);
    m.flags = fh[20];
    if (len > std::max(lim.max_fragment_bytes + 64u, lim.max_symbol_bytes))
      return stop(tail_state::damaged, where + " length " + std::to_string(len));
    if (data.size() - pos - frame_header_bytes < std::size_t{len} + tag_bytes)
      return stop(tail_state::damaged, where + " cut");
    byte_view body = data.subspan(pos + frame_header_bytes, len);
    const std::uint8_t* mtag = body.data() + len;
    pos += frame_size(len);
    p.usable_bytes = pos;
    std::uint8_t idx[4];
    std::memcpy(idx, &index, 4);
    if (encrypt) {
      bytes aad(htag.begin(), htag.end());
      aad.insert(aad.end(), idx, idx + 4);
      aad.insert(aad.end(), fh, fh + frame_header_bytes);
      m.payload.resize(len);
      if (!gcm_open(keys.cipher, h.packet_id, index, aad, body, mtag, m.payload.data())) {
        skip(where + " authentication failed");
        continue;
      }
    } else {
      tag t = keys.message.compute(
        {{htag.data(), htag.size()}, {idx, 4}, {fh, frame_header_bytes}, body});
      if (!tags_equal(t, mtag)) {
        skip(where + " tag mismatch");
        continue;
      }
      m.payload.assign(body.begin(), body.end());
    }
    if (m.flags == message_flags::coded) {
      // A symbol: index below erasure::max_symbols, k in [1, 255]; the
      // block decoder checks the rest.
      if (m.fragment_count == 0 || m.fragment_count >= 256 || m.fragment_index >= 255 ||
          m.payload.size() > lim.max_symbol_bytes) {
        skip(where + " bad symbol fields");
        continue;
      }
    } else if ((m.flags & ~message_flags::compressed) || m.fragment_count == 0 ||
               m.fragment_count > limits::fragments_per_message_max ||
               m.fragment_index >= m.fragment_count) {
      skip(where + " bad fragment fields");
      continue;
    } else if (m.flags & message_flags::compressed) {
      auto plain = decompress_fragment(m.payload, lim.max_fragment_bytes);
      if (!plain) {
        skip(where + " does not decompress");
        continue;
      }
      m.payload = std::move(*plain);
      m.flags = 0;
    } else if (m.payload.size() > lim.max_fragment_bytes) {
      skip(where + " fragment too large");
      continue;
    }
    p.messages.push_back(std::move(m));
  }
  if (pos != data.size())
    return stop(tail_state::damaged, "trailing bytes");
  if (truncated)
    return stop(tail_state::truncated, "fewer bytes than declared");
  if (p.damaged_frames > 0)
    p.tail = tail_state::damaged;
  return res;
}

} // namespace peerlab::droplog
