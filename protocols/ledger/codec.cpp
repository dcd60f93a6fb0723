#include "protocols/ledger/codec.hpp"

#include "protocols/common/frame_checksum.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/wire.hpp"

namespace peerlab::ledger {

namespace {

using wire::reader;
using wire::writer;

constexpr std::size_t max_text = limits::error_text_max;

bool is_request(std::uint8_t t) { return t >= 1 && t <= 3; }

void head(writer& w, port_t port, msg_type t) {
  w.u8(port);
  w.u8(static_cast<std::uint8_t>(t));
}

void put(writer& w, const transfer& m) {
  head(w, ports::ledger, msg_type::transfer);
  w.u64(m.req_id);
  w.u8(m.reply_port);
  w.u64(m.from);
  w.u64(m.to);
  w.u64(m.amount);
  w.u64(m.fee);
  w.u64(m.nonce);
}
void put(writer& w, const tx_status_req& m) {
  head(w, ports::ledger, msg_type::tx_status_req);
  w.u64(m.req_id);
  w.u8(m.reply_port);
  w.fixed(m.id);
}
void put(writer& w, const balance_req& m) {
  head(w, ports::ledger, msg_type::balance_req);
  w.u64(m.req_id);
  w.u8(m.reply_port);
  w.u64(m.account);
}
void put(writer& w, const transfer_ok& m) {
  head(w, m.port, msg_type::transfer_ok);
  w.u64(m.req_id);
  w.fixed(m.id);
}
void put(writer& w, const transfer_err& m) {
  head(w, m.port, msg_type::transfer_err);
  w.u64(m.req_id);
  w.u8(static_cast<std::uint8_t>(m.code));
  w.str16(std::string_view(m.text).substr(0, max_text));
}
void put(writer& w, const tx_status_reply& m) {
  head(w, m.port, msg_type::tx_status);
  w.u64(m.req_id);
  w.fixed(m.id);
  w.u8(static_cast<std::uint8_t>(m.status));
  w.u64(m.from);
  w.u64(m.to);
  w.u64(m.amount);
  w.u64(m.fee);
  w.u64(m.nonce);
  w.u64(m.height);
  w.u64(m.depth);
  w.u64(m.tip);
}
void put(writer& w, const balance_reply& m) {
  head(w, m.port, msg_type::balance);
  w.u64(m.req_id);
  w.u64(m.account);
  w.u64(m.balance);
  w.u64(m.pending_out);
  w.u64(m.tip);
}

// Reply port of a request: any port but the ledger's own (a reply sent to
// the ledger port would come back as a request) and 0 (no role).
bool valid_reply_port(port_t p) { return p != 0 && p != ports::ledger; }

// The transfer fields a TRANSFER and a TX_STATUS reply share, in wire order.
template <class M>
std::string parse_transfer_fields(reader& r, M& m) {
  if (!r.u64(m.from))
    return "from truncated";
  if (!r.u64(m.to))
    return "to truncated";
  if (!r.u64(m.amount))
    return "amount truncated";
  if (!r.u64(m.fee))
    return "fee truncated";
  if (!r.u64(m.nonce))
    return "nonce truncated";
  return "";
}

std::string parse(reader& r, transfer& m) {
  if (!r.u64(m.req_id))
    return "req_id truncated";
  if (!r.u8(m.reply_port))
    return "reply_port truncated";
  if (!valid_reply_port(m.reply_port))
    return "reply_port " + std::to_string(m.reply_port) + " is not a client port";
  return parse_transfer_fields(r, m);
}
std::string parse(reader& r, tx_status_req& m) {
  if (!r.u64(m.req_id))
    return "req_id truncated";
  if (!r.u8(m.reply_port))
    return "reply_port truncated";
  if (!valid_reply_port(m.reply_port))
    return "reply_port " + std::to_string(m.reply_port) + " is not a client port";
  if (!r.fixed(m.id))
    return "tx_id truncated";
  return "";
}
std::string parse(reader& r, balance_req& m) {
  if (!r.u64(m.req_id))
    return "req_id truncated";
  if (!r.u8(m.reply_port))
    return "reply_port truncated";
  if (!valid_reply_port(m.reply_port))
    return "reply_port " + std::to_string(m.reply_port) + " is not a client port";
  if (!r.u64(m.account))
    return "account truncated";
  return "";
}
std::string parse(reader& r, transfer_ok& m) {
  if (!r.u64(m.req_id))
    return "req_id truncated";
  if (!r.fixed(m.id))
    return "tx_id truncated";
  return "";
}
std::string parse(reader& r, transfer_err& m) {
  std::uint8_t c = 0;
  if (!r.u64(m.req_id))
    return "req_id truncated";
  if (!r.u8(c))
    return "code truncated";
  if (c < 1 || c > static_cast<std::uint8_t>(error_code::full))
    return "unknown error code " + std::to_string(c);
  m.code = static_cast<error_code>(c);
  if (!r.str16(m.text, max_text))
    return "text truncated or longer than " + std::to_string(max_text);
  return "";
}
std::string parse(reader& r, tx_status_reply& m) {
  std::uint8_t s = 0;
  if (!r.u64(m.req_id))
    return "req_id truncated";
  if (!r.fixed(m.id))
    return "tx_id truncated";
  if (!r.u8(s))
    return "status truncated";
  if (s > static_cast<std::uint8_t>(tx_status::replaced))
    return "unknown status " + std::to_string(s);
  m.status = static_cast<tx_status>(s);
  if (auto e = parse_transfer_fields(r, m); !e.empty())
    return e;
  if (!r.u64(m.height))
    return "height truncated";
  if (!r.u64(m.depth))
    return "depth truncated";
  if (!r.u64(m.tip))
    return "tip truncated";
  if (m.depth > m.tip)
    return "depth beyond the tip";
  return "";
}
std::string parse(reader& r, balance_reply& m) {
  if (!r.u64(m.req_id))
    return "req_id truncated";
  if (!r.u64(m.account))
    return "account truncated";
  if (!r.u64(m.balance))
    return "balance truncated";
  if (!r.u64(m.pending_out))
    return "pending_out truncated";
  if (!r.u64(m.tip))
    return "tip truncated";
  return "";
}

template <class M>
decode_result decode_as(reader& r, port_t port, const char* name) {
  M m;
  if constexpr (requires { m.port; })
    m.port = port;
  std::string err = parse(r, m);
  if (err.empty() && !r.at_end())
    err = std::to_string(r.remaining()) + " trailing bytes";
  if (!err.empty())
    return {message{}, std::string(name) + ": " + err};
  return {message{std::move(m)}, ""};
}

} // namespace

const char* error_name(error_code c) {
  switch (c) {
  case error_code::overdraft:
    return "overdraft";
  case error_code::double_spend:
    return "double spend";
  case error_code::conflict:
    return "conflicting pending transaction";
  case error_code::not_owner:
    return "not the owner of the paying account";
  case error_code::bad_amount:
    return "bad amount";
  case error_code::full:
    return "ledger full";
  }
  return "?";
}

const char* message_name(std::uint8_t type) {
  switch (static_cast<msg_type>(type)) {
  case msg_type::transfer:
    return "TRANSFER";
  case msg_type::tx_status_req:
    return "TX_STATUS_REQ";
  case msg_type::balance_req:
    return "BALANCE_REQ";
  case msg_type::transfer_ok:
    return "TRANSFER_OK";
  case msg_type::transfer_err:
    return "TRANSFER_ERR";
  case msg_type::tx_status:
    return "TX_STATUS";
  case msg_type::balance:
    return "BALANCE";
  }
  return "?";
}

bool is_reply_frame(byte_view frame) { return frame.size() >= 2 && frame[1] >= 0x80; }

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
    return {message{}, "unknown ledger message type " + std::to_string(type)};
  if (is_request(type) != (port == ports::ledger))
    return {message{}, std::string(name) + ": wrong port " + std::to_string(port)};
  switch (static_cast<msg_type>(type)) {
  case msg_type::transfer:
    return decode_as<transfer>(r, port, name);
  case msg_type::tx_status_req:
    return decode_as<tx_status_req>(r, port, name);
  case msg_type::balance_req:
    return decode_as<balance_req>(r, port, name);
  case msg_type::transfer_ok:
    return decode_as<transfer_ok>(r, port, name);
  case msg_type::transfer_err:
    return decode_as<transfer_err>(r, port, name);
  case msg_type::tx_status:
    return decode_as<tx_status_reply>(r, port, name);
  case msg_type::balance:
    return decode_as<balance_reply>(r, port, name);
  }
  return {message{}, "unknown ledger message type " + std::to_string(type)};
}

} // namespace

// The checksum is checked before the body is parsed: a frame damaged in transit
// is reported as damaged (the receiver treats it as lost), not by whichever
// field the damage happened to hit. A body error therefore means the sender
// built a bad frame (a bug or a lying peer), since its checksum matched.
decode_result decode(byte_view frame) {
  if (frame.size() > limits::frame_bytes_max)
    return {message{}, "frame of " + std::to_string(frame.size()) + " bytes exceeds the limit"};
  if (frame.size() < 2 + frame_checksum_bytes)
    return {message{}, "frame shorter than its 2-byte header and 8-byte checksum"};
  if (!frame_checksum_ok(frame))
    return {message{}, "checksum mismatch (damaged in transit)"};
  return decode_body(frame_body(frame));
}

} // namespace peerlab::ledger
