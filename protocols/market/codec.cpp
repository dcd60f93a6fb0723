#include "protocols/market/codec.hpp"

#include "protocols/common/frame_checksum.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/wire.hpp"
#include "protocols/market/market.hpp"

namespace peerlab::market {

namespace {

using wire::reader;
using wire::writer;

port_t port_of(msg_type t) { return t == msg_type::payment_notify ? ports::payment : ports::payer; }

void head(writer& w, msg_type t) {
  w.u8(port_of(t));
  w.u8(static_cast<std::uint8_t>(t));
}

void put(writer& w, const payment_request& m) {
  head(w, msg_type::payment_request);
  w.fixed(m.ref);
  w.fixed(m.hash);
  w.u64(m.amount);
  w.u64(m.recipient);
  w.u64(m.from);
  w.u64(m.to);
  w.u32(m.due_ms);
}
void put(writer& w, const payment_notify& m) {
  head(w, msg_type::payment_notify);
  w.fixed(m.ref);
  w.fixed(m.tx);
}
void put(writer& w, const payment_status& m) {
  head(w, msg_type::payment_status);
  w.fixed(m.ref);
  w.fixed(m.tx);
  w.u8(static_cast<std::uint8_t>(m.status));
  w.str16(std::string_view(m.reason).substr(0, bounds::reason_max));
}

std::string parse(reader& r, payment_request& m) {
  if (!r.fixed(m.ref))
    return "ref truncated";
  if (!r.fixed(m.hash))
    return "hash truncated";
  if (!r.u64(m.amount))
    return "amount truncated";
  if (!r.u64(m.recipient))
    return "recipient truncated";
  if (!r.u64(m.from))
    return "from truncated";
  if (!r.u64(m.to))
    return "to truncated";
  if (!r.u32(m.due_ms))
    return "due_ms truncated";
  if (m.amount == 0)
    return "amount is zero";
  if (m.to <= m.from)
    return "empty byte range";
  return "";
}
std::string parse(reader& r, payment_notify& m) {
  if (!r.fixed(m.ref))
    return "ref truncated";
  if (!r.fixed(m.tx))
    return "tx_id truncated";
  return "";
}
std::string parse(reader& r, payment_status& m) {
  std::uint8_t s = 0;
  if (!r.fixed(m.ref))
    return "ref truncated";
  if (!r.fixed(m.tx))
    return "tx_id truncated";
  if (!r.u8(s))
    return "status truncated";
  if (s < 1 || s > 3)
    return "unknown status " + std::to_string(s);
  m.status = static_cast<pay_status>(s);
  if (!r.str16(m.reason, bounds::reason_max))
    return "reason truncated or too long";
  return "";
}

template <class M>
decode_result decode_as(reader& r, const char* name) {
  M m;
  std::string err = parse(r, m);
  if (err.empty() && !r.at_end())
    err = std::to_string(r.remaining()) + " trailing bytes";
  if (!err.empty())
    return {message{}, std::string(name) + ": " + err};
  return {message{std::move(m)}, ""};
}

} // namespace

const char* message_name(std::uint8_t t) {
  switch (static_cast<msg_type>(t)) {
  case msg_type::payment_request:
    return "PAYMENT_REQUEST";
  case msg_type::payment_notify:
    return "PAYMENT_NOTIFY";
  case msg_type::payment_status:
    return "PAYMENT_STATUS";
  }
  return "?";
}

const char* pay_status_name(pay_status s) {
  switch (s) {
  case pay_status::received:
    return "received";
  case pay_status::verified:
    return "verified";
  case pay_status::failed:
    return "failed";
  }
  return "?";
}

std::string ref_hex(const payment_ref& r) { return to_hex(byte_view{r.data(), r.size()}); }

bytes encode(const message& m) {
  bytes out;
  writer w(out);
  std::visit([&](const auto& v) { put(w, v); }, m);
  append_frame_checksum(out);
  return out;
}

namespace {

// Parses a frame body (the frame without its checksum trailer).
decode_result decode_body(byte_view frame) {
  reader r(frame);
  std::uint8_t port = 0, type = 0;
  if (!r.u8(port) || !r.u8(type))
    return {message{}, "frame shorter than its 2-byte header"};
  const char* name = message_name(type);
  if (name[0] == '?')
    return {message{}, "unknown payment message type " + std::to_string(type)};
  if (port != port_of(static_cast<msg_type>(type)))
    return {message{}, std::string(name) + ": wrong port " + std::to_string(port)};
  switch (static_cast<msg_type>(type)) {
  case msg_type::payment_request:
    return decode_as<payment_request>(r, name);
  case msg_type::payment_notify:
    return decode_as<payment_notify>(r, name);
  case msg_type::payment_status:
    return decode_as<payment_status>(r, name);
  }
  return {message{}, "unknown payment message type"};
}

} // namespace

// The checksum is checked before the body is parsed: a frame damaged in transit
// is reported as damaged (the receiver treats it as lost), not by whichever
// field the damage happened to hit. A body error therefore means the sender
// built a bad frame (a bug or a lying peer), since its checksum matched.
decode_result decode(byte_view frame) {
  if (frame.size() > limits::frame_bytes_max)
    return {message{}, "frame too large"};
  if (frame.size() < 2 + frame_checksum_bytes)
    return {message{}, "frame shorter than its 2-byte header and 8-byte checksum"};
  if (!frame_checksum_ok(frame))
    return {message{}, "checksum mismatch (damaged in transit)"};
  return decode_body(frame_body(frame));
}

} // namespace peerlab::market
