#include "protocols/fileset/codec.hpp"

#include "protocols/common/wire.hpp"
#include "protocols/fileset/fileset.hpp"

#include <algorithm>

namespace peerlab::fileset {

namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool fail(std::string& error, const char* what) {
  error = what;
  return false;
}

bool read_set(wire::reader& r, std::string& set, std::string& error) {
  if (!r.str16(set, limits::set_id_max))
    return fail(error, "set id truncated or longer than 64 bytes");
  if (!valid_set_id(set))
    return fail(error, "set id must be 1..64 characters of [A-Za-z0-9._-]");
  return true;
}

bool read_count(wire::reader& r, std::uint32_t& count, std::string& error) {
  if (!r.u32(count))
    return fail(error, "set count truncated");
  if (count == 0 || count > limits::set_files_max)
    return fail(error, "set count must be 1..65536");
  return true;
}

bool read_count_index(wire::reader& r, std::uint32_t& count, std::uint32_t& index,
                      std::string& error) {
  if (!read_count(r, count, error))
    return false;
  if (!r.u32(index))
    return fail(error, "index truncated");
  if (index >= count)
    return fail(error, "index must be below the set count");
  return true;
}

// A back-sync frame: header, request id, then what `body` writes.
template <class Body>
bytes build_sync(sync_type t, std::uint32_t req, Body&& body) {
  return wire::build([&](wire::writer& w) {
    w.header(ports::fileset, static_cast<std::uint8_t>(t));
    w.u32(req);
    body(w);
  });
}

} // namespace

bool valid_set_id(std::string_view id) {
  if (id.empty() || id.size() > limits::set_id_max)
    return false;
  for (char c : id)
    if (!id_char(c))
      return false;
  return true;
}

// ---- gossip payloads --------------------------------------------------------

bytes encode(const file_msg& m) {
  bytes out;
  out.reserve(m.set.size() + m.content.size() + 32);
  wire::writer w(out);
  w.u8(static_cast<std::uint8_t>(payload_kind::file));
  w.str16(m.set);
  w.u32(m.count);
  w.u32(m.index);
  w.blob32(m.content);
  append_frame_checksum(out);
  return out;
}

bytes encode(const announce_msg& m) {
  bytes out;
  out.reserve(m.set.size() + 80);
  wire::writer w(out);
  w.u8(static_cast<std::uint8_t>(payload_kind::announce));
  w.str16(m.set);
  w.u32(m.count);
  w.u32(m.index);
  w.u64(m.size);
  w.fixed(m.leaf);
  w.u64(m.origin);
  append_frame_checksum(out);
  return out;
}

bool decode_payload(byte_view whole, std::size_t max_inline, std::uint64_t max_file, payload& out,
                    std::string& error) {
  if (whole.size() < 1 + payload_checksum_bytes)
    return fail(error, whole.empty() ? "empty payload" : "payload shorter than its checksum");
  if (!frame_checksum_ok(whole))
    return fail(error, "payload checksum mismatch (damaged in transit)");
  byte_view in = frame_body(whole);
  wire::reader r(in);
  std::uint8_t kind = 0;
  if (!r.u8(kind))
    return fail(error, "empty payload");
  std::string set;
  std::uint32_t count = 0, index = 0;
  if (kind != 1 && kind != 2)
    return fail(error, "unknown payload kind");
  if (!read_set(r, set, error) || !read_count_index(r, count, index, error))
    return false;
  if (kind == static_cast<std::uint8_t>(payload_kind::file)) {
    byte_view content;
    if (!r.blob32(content, max_inline))
      return fail(error, "content truncated or larger than the inline bound");
    if (!r.at_end())
      return fail(error, "trailing bytes after the content");
    out = file_msg{std::move(set), count, index, bytes(content.begin(), content.end())};
    return true;
  }
  announce_msg a{std::move(set), count, index, 0, {}, 0};
  if (!r.u64(a.size))
    return fail(error, "announced size truncated");
  if (a.size > max_file)
    return fail(error, "announced size above the file bound");
  if (!r.fixed(a.leaf))
    return fail(error, "leaf hash truncated");
  if (!r.u64(a.origin))
    return fail(error, "origin truncated");
  if (!r.at_end())
    return fail(error, "trailing bytes after the announcement");
  out = std::move(a);
  return true;
}

// ---- back-sync frames ---------------------------------------------------------

const char* sync_type_name(std::uint8_t type) {
  switch (type) {
  case 0x20:
    return "LIST_REQ";
  case 0x21:
    return "LIST_RESP";
  case 0x22:
    return "MANIFEST_REQ";
  case 0x23:
    return "MANIFEST_RESP";
  case 0x24:
    return "FETCH_REQ";
  case 0x25:
    return "FETCH_RESP";
  default:
    return "?";
  }
}

bytes encode(const list_req& m) {
  return build_sync(sync_type::list_req, m.req, [&](wire::writer& w) { w.str16(m.after); });
}

bytes encode(const list_resp& m) {
  return build_sync(sync_type::list_resp, m.req, [&](wire::writer& w) {
    w.u16(static_cast<std::uint16_t>(m.sets.size()));
    for (auto& s : m.sets) {
      w.str16(s.set);
      w.u32(s.count);
      w.fixed(s.root);
    }
    w.u8(m.more ? 1 : 0);
  });
}

bytes encode(const manifest_req& m) {
  return build_sync(sync_type::manifest_req, m.req, [&](wire::writer& w) { w.str16(m.set); });
}

bytes encode(const manifest_resp& m) {
  return build_sync(sync_type::manifest_resp, m.req, [&](wire::writer& w) {
    w.str16(m.set);
    w.u8(m.found ? 1 : 0);
    if (!m.found)
      return;
    w.u32(m.count);
    w.fixed(m.root);
    w.buffer().reserve(w.buffer().size() + m.leaves.size() * 32);
    for (auto& l : m.leaves)
      w.fixed(l);
  });
}

bytes encode(const fetch_req& m) {
  return build_sync(sync_type::fetch_req, m.req, [&](wire::writer& w) {
    w.str16(m.set);
    w.u32(m.index);
    w.u64(m.offset);
    w.u32(m.max_len);
  });
}

bytes encode(const fetch_resp& m) {
  return build_sync(sync_type::fetch_resp, m.req, [&](wire::writer& w) {
    w.str16(m.set);
    w.u32(m.index);
    w.u8(m.found ? 1 : 0);
    if (!m.found)
      return;
    w.u64(m.total);
    w.u64(m.offset);
    w.blob32(m.data);
  });
}

bool decode_sync(byte_view in, sync_frame& out, std::string& error) {
  wire::reader r(in);
  std::uint8_t port = 0, type = 0;
  if (!r.header(port, type))
    return fail(error, "frame shorter than its header");
  if (port != ports::fileset)
    return fail(error, "frame is not for the fileset port");
  std::uint32_t req = 0;
  if (!r.u32(req))
    return fail(error, "request id truncated");
  auto flag = [&](bool& v, const char* what) {
    std::uint8_t b = 0;
    if (!r.u8(b))
      return fail(error, what);
    if (b > 1)
      return fail(error, "flag must be 0 or 1");
    v = b == 1;
    return true;
  };
  // Every field read: nothing may follow.
  auto done = [&](auto&& m) {
    if (!r.at_end())
      return fail(error, "trailing bytes");
    out = std::move(m);
    return true;
  };
  switch (type) {
  case 0x20: {
    list_req m{req, {}};
    if (!r.str16(m.after, limits::set_id_max))
      return fail(error, "cursor truncated or longer than 64 bytes");
    if (!m.after.empty() && !valid_set_id(m.after))
      return fail(error, "cursor is not a set id");
    return done(m);
  }
  case 0x21: {
    list_resp m{req, {}, false};
    std::uint16_t n = 0;
    if (!r.u16(n))
      return fail(error, "set count truncated");
    if (n > limits::list_entries_max)
      return fail(error, "more than 256 sets in one list");
    for (std::uint16_t i = 0; i < n; ++i) {
      set_summary s;
      if (!read_set(r, s.set, error))
        return false;
      if (!read_count(r, s.count, error))
        return false;
      if (!r.fixed(s.root))
        return fail(error, "root truncated");
      if (!m.sets.empty() && !(m.sets.back().set < s.set))
        return fail(error, "sets not in strictly increasing id order");
      m.sets.push_back(std::move(s));
    }
    if (!flag(m.more, "more flag truncated"))
      return false;
    return done(m);
  }
  case 0x22: {
    manifest_req m{req, {}};
    if (!read_set(r, m.set, error))
      return false;
    return done(m);
  }
  case 0x23: {
    manifest_resp m;
    m.req = req;
    if (!read_set(r, m.set, error) || !flag(m.found, "found flag truncated"))
      return false;
    if (m.found) {
      if (!read_count(r, m.count, error))
        return false;
      if (!r.fixed(m.root))
        return fail(error, "root truncated");
      if (r.remaining() != static_cast<std::size_t>(m.count) * 32)
        return fail(error, "leaf hashes do not match the set count");
      m.leaves.resize(m.count);
      for (auto& l : m.leaves)
        r.fixed(l);
    }
    return done(m);
  }
  case 0x24: {
    fetch_req m;
    m.req = req;
    if (!read_set(r, m.set, error))
      return false;
    if (!r.u32(m.index) || !r.u64(m.offset) || !r.u32(m.max_len))
      return fail(error, "fetch fields truncated");
    if (m.index >= limits::set_files_max)
      return fail(error, "index above the set bound");
    if (m.max_len == 0 || m.max_len > limits::chunk_bytes_max)
      return fail(error, "chunk length must be 1 B..1 MiB");
    if (m.offset > limits::file_bytes_max)
      return fail(error, "offset above the file bound");
    return done(m);
  }
  case 0x25: {
    fetch_resp m;
    m.req = req;
    if (!read_set(r, m.set, error))
      return false;
    if (!r.u32(m.index))
      return fail(error, "index truncated");
    if (m.index >= limits::set_files_max)
      return fail(error, "index above the set bound");
    if (!flag(m.found, "found flag truncated"))
      return false;
    if (m.found) {
      byte_view data;
      if (!r.u64(m.total) || !r.u64(m.offset))
        return fail(error, "size or offset truncated");
      if (m.total > limits::file_bytes_max)
        return fail(error, "file size above the file bound");
      if (!r.blob32(data, limits::chunk_bytes_max))
        return fail(error, "chunk truncated or larger than 1 MiB");
      if (m.offset > m.total || data.size() > m.total - m.offset)
        return fail(error, "chunk extends past the file size");
      m.data.assign(data.begin(), data.end());
    }
    return done(m);
  }
  default:
    return fail(error, "unknown fileset frame type");
  }
}

} // namespace peerlab::fileset
