#include "protocols/ledger/codec.hpp"

#include "protocols/common/frame_checksum.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/wire.hpp"
#include "protocols/ledger/ledger.hpp"

namespace peerlab::ledger {

namespace {

using wire::reader;
using wire::writer;

constexpr std::size_t max_text = limits::error_text_max;

bool is_request(std::uint8_t t) { return t >= 1 && t <= 3; }

void put(writer& w, const transfer& m) {
  w.header(ports::ledger, static_cast<std::uint8_t>(msg_type::transfer));
  w.u64(m.req_id);
  w.u8(m.reply_port);
  w.u64(m.from);
  w.u64(m.to);
  w.u64(m.amount);
  w.u64(m.fee);
  w.u64(m.nonce);
}
void put(writer& w, const tx_status_req& m) {
  w.header(ports::ledger, static_cast<std::uint8_t>(msg_type::tx_status_req));
  w.u64(m.req_id);
  w.u8(m.reply_port);
  w.fixed(m.id);
}
void put(writer& w, const balance_req& m) {
  w.header(ports::ledger, static_cast<std::uint8_t>(msg_type::balance_req));
  w.u64(m.req_id);
  w.u8(m.reply_port);
  w.u64(m.account);
}
void put(writer& w, const transfer_ok& m) {
  w.header(m.port, static_cast<std::uint8_t>(msg_type::transfer_ok));
  w.u64(m.req_id);
  w.fixed(m.id);
}
void put(writer& w, const transfer_err& m) {
  w.header(m.port, static_cast<std::uint8_t>(msg_type::transfer_err));
  w.u64(m.req_id);
  w.u8(static_cast<std::uint8_t>(m.code));
  w.str16(std::string_view(m.text).substr(0, max_text));
}
void put(writer& w, const tx_status_reply& m) {
  w.header(m.port, static_cast<std::uint8_t>(msg_type::tx_status));
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
  w.header(m.port, static_cast<std::uint8_t>(msg_type::balance));
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
void read_transfer_fields(wire::fields& f, M& m) {
  f.u64(m.from, "from").u64(m.to, "to").u64(m.amount, "amount").u64(m.fee, "fee");
  f.u64(m.nonce, "nonce");
}

// The head every request starts with: its id and the port the reply goes to.
template <class M>
void read_request_head(wire::fields& f, M& m) {
  f.u64(m.req_id, "req_id").u8(m.reply_port, "reply_port");
  f.check(valid_reply_port(m.reply_port),
          [&] { return "reply_port " + std::to_string(m.reply_port) + " is not a client port"; });
}

std::string parse(reader& r, transfer& m) {
  wire::fields f(r);
  read_request_head(f, m);
  read_transfer_fields(f, m);
  return f.error();
}
std::string parse(reader& r, tx_status_req& m) {
  wire::fields f(r);
  read_request_head(f, m);
  f.fixed(m.id, "tx_id");
  return f.error();
}
std::string parse(reader& r, balance_req& m) {
  wire::fields f(r);
  read_request_head(f, m);
  f.u64(m.account, "account");
  return f.error();
}
std::string parse(reader& r, transfer_ok& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").fixed(m.id, "tx_id");
  return f.error();
}
std::string parse(reader& r, transfer_err& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id");
  f.enum8(m.code, 1, static_cast<std::uint8_t>(error_code::full), "code", "error code");
  f.str16(m.text, max_text, "text");
  return f.error();
}
std::string parse(reader& r, tx_status_reply& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").fixed(m.id, "tx_id");
  f.enum8(m.status, 0, static_cast<std::uint8_t>(tx_status::replaced), "status");
  read_transfer_fields(f, m);
  f.u64(m.height, "height").u64(m.depth, "depth").u64(m.tip, "tip");
  f.check(m.depth <= m.tip, "depth beyond the tip");
  return f.error();
}
std::string parse(reader& r, balance_reply& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").u64(m.account, "account").u64(m.balance, "balance");
  f.u64(m.pending_out, "pending_out").u64(m.tip, "tip");
  return f.error();
}

template <class M>
decode_result decode_as(reader& r, port_t port, const char* name) {
  M m;
  if constexpr (requires { m.port; })
    m.port = port;
  return wire::decode_whole<decode_result>(r, name, std::move(m),
                                           [&](M& x) { return parse(r, x); });
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

decode_result decode(byte_view frame) {
  byte_view body;
  if (auto e = checked_frame_body(frame, limits::frame_bytes_max, body); !e.empty())
    return {message{}, e};
  return decode_body(body);
}

} // namespace peerlab::ledger
