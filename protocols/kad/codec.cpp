#include "protocols/kad/codec.hpp"

#include "protocols/common/wire.hpp"
#include "protocols/kad/kad.hpp"

#include <algorithm>
#include <set>

namespace peerlab::kad {

const char* msg_name(std::uint8_t type) {
  switch (static_cast<msg_type>(type)) {
  case msg_type::ping:
    return "PING";
  case msg_type::pong:
    return "PONG";
  case msg_type::find_node:
    return "FIND_NODE";
  case msg_type::nodes:
    return "NODES";
  case msg_type::add_provider:
    return "ADD_PROVIDER";
  case msg_type::ack:
    return "ACK";
  case msg_type::err:
    return "ERR";
  case msg_type::get_providers:
    return "GET_PROVIDERS";
  case msg_type::providers:
    return "PROVIDERS";
  }
  return "?";
}

bool is_request(msg_type t) {
  return t == msg_type::ping || t == msg_type::find_node || t == msg_type::add_provider ||
         t == msg_type::get_providers;
}

namespace {

void put_id(wire::writer& w, const kad_id& id) {
  w.u8(static_cast<std::uint8_t>(id_bytes));
  w.fixed(id);
}

void put_address(wire::writer& w, const std::string& a) {
  w.str16(std::string_view(a).substr(0, limits::address_bytes_max));
}

void put_contact(wire::writer& w, const contact& c) {
  w.u64(c.peer);
  put_id(w, c.id);
  put_address(w, c.address);
}

void put_list(wire::writer& w, const std::vector<contact>& list, std::size_t max) {
  w.list8(list, put_contact, max);
}

// Each getter returns an error text naming the field, or empty on success.
std::string get_id(wire::reader& r, kad_id& id, const char* field) {
  std::uint8_t len = 0;
  if (!r.u8(len))
    return std::string(field) + ": truncated id length";
  if (len != id_bytes)
    return std::string(field) + ": id must be 32 bytes, got " + std::to_string(len);
  if (!r.fixed(id))
    return std::string(field) + ": truncated id";
  return {};
}

std::string get_address(wire::reader& r, std::string& a, const char* field) {
  if (!r.str16(a, limits::address_bytes_max))
    return std::string(field) + ": truncated or longer than 255 bytes";
  return {};
}

std::string get_contact(wire::reader& r, contact& c, const char* field) {
  if (!r.u64(c.peer))
    return std::string(field) + ": truncated peer id";
  if (auto e = get_id(r, c.id, field); !e.empty())
    return e;
  return get_address(r, c.address, field);
}

std::string get_list(wire::reader& r, std::vector<contact>& out, std::size_t max,
                     const char* field) {
  std::uint8_t n = 0;
  if (!r.u8(n))
    return std::string(field) + ": truncated count";
  if (n > max)
    return std::string(field) + ": " + std::to_string(n) + " entries, at most " +
           std::to_string(max) + " allowed";
  // Each contact takes at least 8 + 1 + 32 + 2 bytes: refuse early.
  if (r.remaining() < std::size_t(n) * 43)
    return std::string(field) + ": truncated list";
  out.resize(n);
  std::set<peer_id> seen;
  for (auto& c : out) {
    if (auto e = get_contact(r, c, field); !e.empty())
      return e;
    if (!seen.insert(c.peer).second)
      return std::string(field) + ": duplicate peer " + std::to_string(c.peer);
  }
  return {};
}

} // namespace

bytes encode(const message& m) {
  bytes out;
  out.reserve(64 + 300 * (m.providers.size() + m.closer.size()));
  wire::writer w(out);
  w.header(ports::kad, static_cast<std::uint8_t>(m.type));
  w.u64(m.request_id);
  put_id(w, m.sender_id);
  put_address(w, m.sender_address);
  switch (m.type) {
  case msg_type::ping:
  case msg_type::pong:
  case msg_type::ack:
    break;
  case msg_type::find_node:
  case msg_type::get_providers:
    put_id(w, m.key);
    break;
  case msg_type::nodes:
    put_list(w, m.closer, limits::contacts_per_message_max);
    break;
  case msg_type::add_provider:
    put_id(w, m.key);
    put_contact(w, m.provider);
    break;
  case msg_type::err:
    w.u8(m.code);
    w.str16(std::string_view(m.text).substr(0, limits::error_text_max));
    break;
  case msg_type::providers:
    put_list(w, m.providers, limits::providers_per_message_max);
    put_list(w, m.closer, limits::contacts_per_message_max);
    break;
  }
  return out;
}

decoded decode(byte_view frame) {
  decoded d;
  auto fail = [&](std::string e) {
    d.ok = false;
    d.error = std::move(e);
    return d;
  };
  wire::reader r(frame);
  std::uint8_t port = 0, type = 0;
  if (!r.u8(port))
    return fail("port: empty frame");
  if (port != ports::kad)
    return fail("port: expected " + std::to_string(ports::kad) + ", got " + std::to_string(port));
  if (!r.u8(type))
    return fail("type: truncated");
  if (type < 1 || type > 9)
    return fail("type: unknown message type " + std::to_string(type));
  message& m = d.msg;
  m.type = static_cast<msg_type>(type);
  if (!r.u64(m.request_id))
    return fail("request_id: truncated");
  if (auto e = get_id(r, m.sender_id, "sender_id"); !e.empty())
    return fail(e);
  if (auto e = get_address(r, m.sender_address, "sender_address"); !e.empty())
    return fail(e);
  std::string e;
  switch (m.type) {
  case msg_type::ping:
  case msg_type::pong:
  case msg_type::ack:
    break;
  case msg_type::find_node:
    e = get_id(r, m.key, "target");
    break;
  case msg_type::get_providers:
    e = get_id(r, m.key, "key");
    break;
  case msg_type::nodes:
    e = get_list(r, m.closer, limits::contacts_per_message_max, "closer");
    break;
  case msg_type::add_provider:
    e = get_id(r, m.key, "key");
    if (e.empty())
      e = get_contact(r, m.provider, "provider");
    break;
  case msg_type::err:
    if (!r.u8(m.code))
      e = "code: truncated";
    else if (m.code < 1 || m.code > 5)
      e = "code: unknown error code " + std::to_string(m.code);
    else if (!r.str16(m.text, limits::error_text_max))
      e = "text: truncated or longer than 256 bytes";
    break;
  case msg_type::providers:
    e = get_list(r, m.providers, limits::providers_per_message_max, "providers");
    if (e.empty())
      e = get_list(r, m.closer, limits::contacts_per_message_max, "closer");
    break;
  }
  if (!e.empty())
    return fail(e);
  if (!r.at_end())
    return fail("frame: " + std::to_string(r.remaining()) + " trailing bytes after " +
                msg_name(type));
  d.ok = true;
  return d;
}

} // namespace peerlab::kad
