#include "protocols/filexfer/codec.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/wire.hpp"
#include "protocols/filexfer/filexfer.hpp"

namespace peerlab::filexfer {

namespace {

void header(wire::writer& w, msg_type t) { w.header(port_of(t), static_cast<std::uint8_t>(t)); }

std::string_view clip(std::string_view text) {
  return text.substr(0, std::min(text.size(), limits::error_text_max));
}

void put(wire::writer& w, const meta_req& m) {
  header(w, msg_type::meta_req);
  w.u64(m.req_id);
  w.fixed(m.hash);
}
void put(wire::writer& w, const meta_ok& m) {
  header(w, msg_type::meta_ok);
  w.u64(m.req_id);
  w.str16(m.name);
  w.u64(m.price);
  w.u64(m.size);
}
void put(wire::writer& w, const meta_err& m) {
  header(w, msg_type::meta_err);
  w.u64(m.req_id);
  w.u8(static_cast<std::uint8_t>(m.code));
  w.str16(clip(m.text));
}
void put(wire::writer& w, const content_req& m) {
  header(w, msg_type::content_req);
  w.u64(m.req_id);
  w.fixed(m.hash);
  w.u64(m.offset);
  w.u32(m.length);
  w.u32(m.chunk);
}
void put(wire::writer& w, const content_chunk& m) {
  w.buffer() = encode_chunk(m.req_id, m.offset, m.ref, m.data);
}
void put(wire::writer& w, const content_end& m) {
  header(w, msg_type::content_end);
  w.u64(m.req_id);
  w.u64(m.bytes_sent);
}
void put(wire::writer& w, const content_err& m) {
  header(w, msg_type::content_err);
  w.u64(m.req_id);
  w.u8(static_cast<std::uint8_t>(m.code));
  w.str16(clip(m.text));
}

// Each parser returns an error text naming the field, or "" on success.
using reader = wire::reader;

std::string parse(reader& r, meta_req& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").fixed(m.hash, "hash");
  return f.error();
}

std::string parse(reader& r, meta_ok& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").str16(m.name, limits::file_name_max, "name");
  f.u64(m.price, "price").u64(m.size, "size");
  return f.error();
}

template <class Err>
std::string parse_error(reader& r, Err& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id");
  f.enum8(m.code, static_cast<std::uint8_t>(error_code::not_provider),
          static_cast<std::uint8_t>(error_code::bad_range), "code", "error code");
  f.str16(m.text, limits::error_text_max, "text");
  return f.error();
}
std::string parse(reader& r, meta_err& m) { return parse_error(r, m); }
std::string parse(reader& r, content_err& m) { return parse_error(r, m); }

std::string parse(reader& r, content_req& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").fixed(m.hash, "hash").u64(m.offset, "offset");
  f.u32(m.length, "length").u32(m.chunk, "chunk");
  f.check(m.length != 0 && m.length <= bounds::request_bytes_max, [&] {
    return "length " + std::to_string(m.length) + " outside 1.." +
           std::to_string(bounds::request_bytes_max);
  });
  f.check(m.chunk != 0 && m.chunk <= limits::chunk_bytes_max, [&] {
    return "chunk " + std::to_string(m.chunk) + " outside 1.." +
           std::to_string(limits::chunk_bytes_max);
  });
  f.check(m.offset <= UINT64_MAX - m.length, "offset + length overflows");
  return f.error();
}

std::string parse(reader& r, content_chunk& m) {
  wire::fields f(r);
  std::uint32_t n = 0;
  f.u64(m.req_id, "req_id").u64(m.offset, "offset").fixed(m.ref, "payment_ref");
  f.u32(n, "data length");
  f.check(n != 0, "no data");
  f.check(n <= limits::chunk_bytes_max,
          [] { return "data longer than " + std::to_string(limits::chunk_bytes_max) + " bytes"; });
  // The length makes a cut frame detectable: without it a truncated chunk
  // would decode as a valid shorter one.
  f.check(r.remaining() >= n, "data truncated");
  f.check(r.remaining() <= n,
          [&] { return std::to_string(r.remaining() - n) + " trailing bytes"; });
  if (!f.ok())
    return f.error();
  auto data = r.rest();
  if (m.offset > UINT64_MAX - data.size())
    return "offset + size overflows";
  m.data.assign(data.begin(), data.end());
  return "";
}

std::string parse(reader& r, content_end& m) {
  wire::fields f(r);
  f.u64(m.req_id, "req_id").u64(m.bytes_sent, "bytes_sent");
  return f.error();
}

template <class M>
decode_result decode_as(reader& r, const char* name) {
  return wire::decode_whole<decode_result>(r, name, M{}, [&](M& m) { return parse(r, m); });
}

} // namespace

port_t port_of(msg_type t) {
  return t == msg_type::meta_req || t == msg_type::content_req ? ports::file_provider
                                                               : ports::file_downloader;
}

const char* message_name(std::uint8_t type) {
  switch (static_cast<msg_type>(type)) {
  case msg_type::meta_req:
    return "META_REQ";
  case msg_type::meta_ok:
    return "META_OK";
  case msg_type::meta_err:
    return "META_ERR";
  case msg_type::content_req:
    return "CONTENT_REQ";
  case msg_type::content_chunk:
    return "CONTENT_CHUNK";
  case msg_type::content_end:
    return "CONTENT_END";
  case msg_type::content_err:
    return "CONTENT_ERR";
  }
  return "?";
}

bytes encode(const message& m) {
  return wire::build([&](wire::writer& w) { std::visit([&](const auto& v) { put(w, v); }, m); });
}

bytes encode_chunk(std::uint64_t req_id, std::uint64_t offset, const payment_ref& ref,
                   byte_view data) {
  bytes out;
  out.reserve(2 + 8 + 8 + ref.size() + 4 + data.size());
  wire::writer w(out);
  header(w, msg_type::content_chunk);
  w.u64(req_id);
  w.u64(offset);
  w.fixed(ref);
  w.blob32(data);
  return out;
}

decode_result decode(byte_view frame) {
  if (frame.size() > limits::frame_bytes_max)
    return {message{}, "frame of " + std::to_string(frame.size()) + " bytes exceeds " +
                         std::to_string(limits::frame_bytes_max)};
  reader r(frame);
  std::uint8_t port = 0, type = 0;
  if (!r.header(port, type))
    return {message{}, "frame shorter than its 2-byte header"};
  const char* name = message_name(type);
  if (name[0] == '?')
    return {message{}, "unknown message type " + std::to_string(type)};
  if (port != port_of(static_cast<msg_type>(type)))
    return {message{}, std::string(name) + ": sent to port " + std::to_string(port) +
                         ", expected " + std::to_string(port_of(static_cast<msg_type>(type)))};
  switch (static_cast<msg_type>(type)) {
  case msg_type::meta_req:
    return decode_as<meta_req>(r, name);
  case msg_type::meta_ok:
    return decode_as<meta_ok>(r, name);
  case msg_type::meta_err:
    return decode_as<meta_err>(r, name);
  case msg_type::content_req:
    return decode_as<content_req>(r, name);
  case msg_type::content_chunk:
    return decode_as<content_chunk>(r, name);
  case msg_type::content_end:
    return decode_as<content_end>(r, name);
  case msg_type::content_err:
    return decode_as<content_err>(r, name);
  }
  return {message{}, "unknown message type " + std::to_string(type)};
}

} // namespace peerlab::filexfer
