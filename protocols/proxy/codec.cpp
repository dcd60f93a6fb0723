#include "protocols/proxy/codec.hpp"

#include "protocols/common/frame_checksum.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/wire.hpp"

#include <initializer_list>

namespace peerlab::proxy {

namespace {

using wire::reader;
using wire::writer;

port_t port_of(std::uint8_t type) { return type < 0x40 ? ports::proxy : ports::proxy_client; }

template <class M>
constexpr msg_type type_of();
#define PEERLAB_PROXY_TYPE(M)                                                                      \
  template <>                                                                                      \
  constexpr msg_type type_of<M>() {                                                                \
    return msg_type::M;                                                                            \
  }
PEERLAB_PROXY_TYPE(meta_req)
PEERLAB_PROXY_TYPE(connect_req)
PEERLAB_PROXY_TYPE(usage_report)
PEERLAB_PROXY_TYPE(payment_notify)
PEERLAB_PROXY_TYPE(session_end)
PEERLAB_PROXY_TYPE(data_up)
PEERLAB_PROXY_TYPE(meta)
PEERLAB_PROXY_TYPE(meta_refused)
PEERLAB_PROXY_TYPE(connect_ok)
PEERLAB_PROXY_TYPE(connect_refused)
PEERLAB_PROXY_TYPE(payment_request)
PEERLAB_PROXY_TYPE(usage_refused)
PEERLAB_PROXY_TYPE(payment_status)
PEERLAB_PROXY_TYPE(session_ended)
PEERLAB_PROXY_TYPE(data_down)
#undef PEERLAB_PROXY_TYPE

std::string_view cut(const std::string& s, std::size_t max) {
  return std::string_view(s).substr(0, max);
}

void put_info(writer& w, const metadata& m) {
  w.str16(cut(m.address, bounds::address_max));
  w.u64(m.fee_per_kb);
  w.u64(m.recipient);
}

// Each message's fields in wire order, after the 2-byte header.
void put(writer& w, const meta_req& m) { w.u64(m.req_id); }
void put(writer& w, const connect_req& m) { w.u64(m.req_id); }
void put(writer& w, const usage_report& m) {
  w.u64(m.client_id);
  w.fixed(m.token);
  w.u64(m.seq);
  w.u64(m.bytes_used);
  w.u64(m.fee_owed);
}
void put(writer& w, const payment_notify& m) {
  w.u64(m.client_id);
  w.fixed(m.token);
  w.fixed(m.ref);
  w.fixed(m.tx);
}
void put(writer& w, const session_end& m) {
  w.u64(m.client_id);
  w.fixed(m.token);
  w.u8(static_cast<std::uint8_t>(m.reason));
  w.str16(cut(m.text, bounds::reason_max));
}
void put(writer& w, const data_up& m) {
  w.u64(m.client_id);
  w.fixed(m.token);
  w.u64(m.request_id);
  w.u32(m.response_bytes);
  w.blob32(byte_view{m.payload.data(), std::min(m.payload.size(), bounds::data_payload_max)});
}
void put(writer& w, const meta& m) {
  w.u64(m.req_id);
  put_info(w, m.info);
}
void put(writer& w, const meta_refused& m) {
  w.u64(m.req_id);
  w.u8(static_cast<std::uint8_t>(m.why));
  w.str16(cut(m.text, bounds::reason_max));
}
void put(writer& w, const connect_ok& m) {
  w.u64(m.req_id);
  w.u64(m.client_id);
  w.fixed(m.token);
  put_info(w, m.info);
}
void put(writer& w, const connect_refused& m) {
  w.u64(m.req_id);
  w.u8(static_cast<std::uint8_t>(m.why));
  w.str16(cut(m.text, bounds::reason_max));
}
void put(writer& w, const payment_request& m) {
  w.u64(m.client_id);
  w.u64(m.seq);
  w.u64(m.provider_bytes);
  w.u64(m.provider_fee_owed);
  w.u64(m.amount);
  w.u64(m.recipient);
  w.fixed(m.ref);
}
void put(writer& w, const usage_refused& m) {
  w.u64(m.client_id);
  w.u64(m.seq);
  w.u8(static_cast<std::uint8_t>(m.why));
  w.u64(m.provider_bytes);
  w.str16(cut(m.text, bounds::reason_max));
}
void put(writer& w, const payment_status& m) {
  w.u64(m.client_id);
  w.fixed(m.ref);
  w.fixed(m.tx);
  w.u8(static_cast<std::uint8_t>(m.status));
  w.str16(cut(m.reason, bounds::reason_max));
}
void put(writer& w, const session_ended& m) {
  w.u64(m.client_id);
  w.u8(static_cast<std::uint8_t>(m.reason));
  w.str16(cut(m.text, bounds::reason_max));
}
void put(writer& w, const data_down& m) {
  w.u64(m.client_id);
  w.u64(m.request_id);
  w.u8(m.last ? 1 : 0);
  w.blob32(byte_view{m.payload.data(), std::min(m.payload.size(), bounds::data_payload_max)});
}

// A refusal byte that must be one of `allowed` for this answer.
void refusal_in(wire::fields& f, refusal& v, std::initializer_list<refusal> allowed) {
  f.enum8(v, 1, 6, "refusal");
  bool ok = false;
  for (auto a : allowed)
    ok = ok || a == v;
  f.check(ok, [&] { return std::string("refusal ") + refusal_name(v) + " not allowed here"; });
}

void payload(reader& r, wire::fields& f, bytes& out) {
  byte_view v;
  bool got = f.ok() && r.blob32(v, bounds::data_payload_max);
  f.check(got, [] {
    return "payload truncated or longer than " + std::to_string(bounds::data_payload_max) +
           " bytes";
  });
  if (got)
    out.assign(v.begin(), v.end());
}

void info(wire::fields& f, metadata& m) {
  f.str16(m.address, bounds::address_max, "address");
  f.u64(m.fee_per_kb, "fee_per_kb").u64(m.recipient, "recipient");
}

std::string parse(reader& r, meta_req& m) {
  wire::fields f(r);
  return f.u64(m.req_id, "req_id").error();
}
std::string parse(reader& r, connect_req& m) {
  wire::fields f(r);
  return f.u64(m.req_id, "req_id").error();
}
std::string parse(reader& r, usage_report& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").fixed(m.token, "auth_token").u64(m.seq, "seq");
  f.u64(m.bytes_used, "bytes_used").u64(m.fee_owed, "fee_owed");
  return f.error();
}
std::string parse(reader& r, payment_notify& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").fixed(m.token, "auth_token").fixed(m.ref, "ref");
  f.fixed(m.tx, "tx_id");
  return f.error();
}
std::string parse(reader& r, session_end& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").fixed(m.token, "auth_token");
  f.enum8(m.reason, 1, 6, "reason", "end reason");
  f.str16(m.text, bounds::reason_max, "text");
  return f.error();
}
std::string parse(reader& r, data_up& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").fixed(m.token, "auth_token").u64(m.request_id, "request_id");
  f.u32(m.response_bytes, "response_bytes");
  f.check(m.response_bytes <= bounds::response_bytes_max, "response_bytes over the bound");
  payload(r, f, m.payload);
  return f.error();
}
std::string parse(reader& r, meta& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id");
  info(f, m.info);
  return f.error();
}
std::string parse(reader& r, meta_refused& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id");
  refusal_in(f, m.why, {refusal::not_provider, refusal::internal_error});
  f.str16(m.text, bounds::reason_max, "text");
  return f.error();
}
std::string parse(reader& r, connect_ok& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").u64(m.client_id, "client_id").fixed(m.token, "auth_token");
  info(f, m.info);
  return f.error();
}
std::string parse(reader& r, connect_refused& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id");
  refusal_in(f, m.why,
             {refusal::not_provider, refusal::internal_error, refusal::terminated, refusal::busy});
  f.str16(m.text, bounds::reason_max, "text");
  return f.error();
}
std::string parse(reader& r, payment_request& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").u64(m.seq, "seq").u64(m.provider_bytes, "provider_bytes");
  f.u64(m.provider_fee_owed, "provider_fee_owed").u64(m.amount, "amount");
  f.u64(m.recipient, "recipient").fixed(m.ref, "ref");
  return f.error();
}
std::string parse(reader& r, usage_refused& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").u64(m.seq, "seq");
  refusal_in(f, m.why, {refusal::out_of_tolerance, refusal::terminated, refusal::unknown_client});
  f.u64(m.provider_bytes, "provider_bytes");
  f.str16(m.text, bounds::reason_max, "text");
  return f.error();
}
std::string parse(reader& r, payment_status& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").fixed(m.ref, "ref").fixed(m.tx, "tx_id");
  f.enum8(m.status, 1, 3, "status");
  f.str16(m.reason, bounds::reason_max, "reason");
  return f.error();
}
std::string parse(reader& r, session_ended& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id");
  f.enum8(m.reason, 1, 6, "reason", "end reason");
  f.str16(m.text, bounds::reason_max, "text");
  return f.error();
}
std::string parse(reader& r, data_down& m) {
  wire::fields f(r);
  f.u64(m.client_id, "client_id").u64(m.request_id, "request_id");
  std::uint8_t last = 0;
  f.u8(last, "last").check(last <= 1, [&] {
    return "last must be 0 or 1, not " + std::to_string(last);
  });
  m.last = last == 1;
  payload(r, f, m.payload);
  f.check(m.last || !m.payload.empty(), "empty payload in a frame that is not the last");
  return f.error();
}

template <class M>
decode_result decode_as(reader& r, const char* name) {
  return wire::decode_whole<decode_result>(r, name, M{}, [&](M& m) { return parse(r, m); });
}

decode_result decode_body(byte_view frame) {
  reader r(frame);
  std::uint8_t port = 0, type = 0;
  if (!r.header(port, type))
    return {message{}, "frame shorter than its 2-byte header"};
  const char* name = message_name(type);
  if (name[0] == '?')
    return {message{}, "unknown proxy message type " + std::to_string(type)};
  if (port != port_of(type))
    return {message{}, std::string(name) + ": wrong port " + std::to_string(port)};
  switch (static_cast<msg_type>(type)) {
  case msg_type::meta_req:
    return decode_as<meta_req>(r, name);
  case msg_type::connect_req:
    return decode_as<connect_req>(r, name);
  case msg_type::usage_report:
    return decode_as<usage_report>(r, name);
  case msg_type::payment_notify:
    return decode_as<payment_notify>(r, name);
  case msg_type::session_end:
    return decode_as<session_end>(r, name);
  case msg_type::data_up:
    return decode_as<data_up>(r, name);
  case msg_type::meta:
    return decode_as<meta>(r, name);
  case msg_type::meta_refused:
    return decode_as<meta_refused>(r, name);
  case msg_type::connect_ok:
    return decode_as<connect_ok>(r, name);
  case msg_type::connect_refused:
    return decode_as<connect_refused>(r, name);
  case msg_type::payment_request:
    return decode_as<payment_request>(r, name);
  case msg_type::usage_refused:
    return decode_as<usage_refused>(r, name);
  case msg_type::payment_status:
    return decode_as<payment_status>(r, name);
  case msg_type::session_ended:
    return decode_as<session_ended>(r, name);
  case msg_type::data_down:
    return decode_as<data_down>(r, name);
  }
  return {message{}, "unknown proxy message type " + std::to_string(type)};
}

} // namespace

const char* message_name(std::uint8_t t) {
  switch (static_cast<msg_type>(t)) {
  case msg_type::meta_req:
    return "PROXY_META_REQ";
  case msg_type::connect_req:
    return "PROXY_CONNECT_REQ";
  case msg_type::usage_report:
    return "USAGE_REPORT";
  case msg_type::payment_notify:
    return "PAYMENT_NOTIFY";
  case msg_type::session_end:
    return "SESSION_END";
  case msg_type::data_up:
    return "PROXY_DATA_UP";
  case msg_type::meta:
    return "PROXY_META";
  case msg_type::meta_refused:
    return "PROXY_META_REFUSED";
  case msg_type::connect_ok:
    return "PROXY_CONNECT_OK";
  case msg_type::connect_refused:
    return "PROXY_CONNECT_REFUSED";
  case msg_type::payment_request:
    return "PAYMENT_REQUEST";
  case msg_type::usage_refused:
    return "USAGE_REFUSED";
  case msg_type::payment_status:
    return "PAYMENT_STATUS";
  case msg_type::session_ended:
    return "SESSION_ENDED";
  case msg_type::data_down:
    return "PROXY_DATA_DOWN";
  }
  return "?";
}

const char* refusal_name(refusal r) {
  switch (r) {
  case refusal::not_provider:
    return "not_provider";
  case refusal::internal_error:
    return "internal_error";
  case refusal::out_of_tolerance:
    return "out_of_tolerance";
  case refusal::terminated:
    return "terminated";
  case refusal::unknown_client:
    return "unknown_client";
  case refusal::busy:
    return "busy";
  }
  return "?";
}

const char* end_reason_name(end_reason r) {
  switch (r) {
  case end_reason::client_closed:
    return "client_closed";
  case end_reason::out_of_tolerance:
    return "out_of_tolerance";
  case end_reason::unpaid:
    return "unpaid";
  case end_reason::payment_failed:
    return "payment_failed";
  case end_reason::provider_stopped:
    return "provider_stopped";
  case end_reason::service_failed:
    return "service_failed";
  }
  return "?";
}

bytes encode(const message& m) {
  bytes out = wire::build([&](writer& w) {
    std::visit(
      [&](const auto& v) {
        constexpr auto t = static_cast<std::uint8_t>(type_of<std::decay_t<decltype(v)>>());
        w.header(port_of(t), t);
        put(w, v);
      },
      m);
  });
  append_frame_checksum(out);
  return out;
}

decode_result decode(byte_view frame) {
  byte_view body;
  if (auto e = checked_frame_body(frame, limits::frame_bytes_max, body); !e.empty())
    return {message{}, e};
  return decode_body(body);
}

} // namespace peerlab::proxy
