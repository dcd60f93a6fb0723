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

void head(writer& w, msg_type t) { w.header(port_of(t), static_cast<std::uint8_t>(t)); }

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
  wire::fields f(r);
  f.fixed(m.ref, "ref").fixed(m.hash, "hash").u64(m.amount, "amount");
  f.u64(m.recipient, "recipient").u64(m.from, "from").u64(m.to, "to").u32(m.due_ms, "due_ms");
  f.check(m.amount != 0, "amount is zero").check(m.to > m.from, "empty byte range");
  return f.error();
}
std::string parse(reader& r, payment_notify& m) {
  wire::fields f(r);
  f.fixed(m.ref, "ref").fixed(m.tx, "tx_id");
  return f.error();
}
std::string parse(reader& r, payment_status& m) {
  wire::fields f(r);
  f.fixed(m.ref, "ref").fixed(m.tx, "tx_id");
  f.enum8(m.status, 1, 3, "status");
  f.str16(m.reason, bounds::reason_max, "reason");
  return f.error();
}

template <class M>
decode_result decode_as(reader& r, const char* name) {
  return wire::decode_whole<decode_result>(r, name, M{}, [&](M& m) { return parse(r, m); });
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

std::string ref_hex(const payment_ref& r) { return to_hex(byte_view{r.data(), r.size()}); }

bytes encode(const message& m) {
  bytes out = wire::build([&](writer& w) { std::visit([&](const auto& v) { put(w, v); }, m); });
  append_frame_checksum(out);
  return out;
}

namespace {

// Parses a frame body (the frame without its checksum trailer).
decode_result decode_body(byte_view frame) {
  reader r(frame);
  std::uint8_t port = 0, type = 0;
  if (!r.header(port, type))
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

decode_result decode(byte_view frame) {
  byte_view body;
  if (auto e = checked_frame_body(frame, limits::frame_bytes_max, body); !e.empty())
    return {message{}, e};
  return decode_body(body);
}

} // namespace peerlab::market
