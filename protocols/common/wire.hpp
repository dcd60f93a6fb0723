#pragma once
// Bounds-checked little-endian encoding used by every codec. A reader never
// reads past its end: every getter reports failure and the codec turns that
// into a decode error naming the field.
#include "protocols/common/types.hpp"

#include <algorithm>
#include <array>
#include <concepts>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::wire {

class writer {
public:
  explicit writer(bytes& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  /// The two bytes every frame starts with: destination port, message type.
  void header(port_t port, std::uint8_t type) {
    u8(port);
    u8(type);
  }
  void u16(std::uint16_t v) { put(&v, 2); }
  void u32(std::uint32_t v) { put(&v, 4); }
  void u64(std::uint64_t v) { put(&v, 8); }
  void raw(byte_view v) { put(v.data(), v.size()); }
  /// LEB128: 7 bits per byte, low bits first; 1 byte below 128, 10 at most.
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    u8(static_cast<std::uint8_t>(v));
  }
  template <std::size_t N>
  void fixed(const std::array<std::uint8_t, N>& a) {
    raw(byte_view{a.data(), N});
  }
  /// u16 length then bytes; callers bound the length beforehand.
  void str16(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    put(s.data(), s.size());
  }
  /// A u8 count then that many items, each written by `put(writer&, item)`;
  /// at most `max` of them (callers bound the count to 255 beforehand).
  template <class T, class Put>
  void list8(const std::vector<T>& items, Put&& put,
             std::size_t max = std::numeric_limits<std::size_t>::max()) {
    const std::size_t n = std::min(items.size(), max);
    u8(static_cast<std::uint8_t>(n));
    for (std::size_t i = 0; i < n; ++i)
      put(*this, items[i]);
  }
  /// u32 length then bytes.
  void blob32(byte_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    raw(v);
  }
  bytes& buffer() { return out_; }

private:
  void put(const void* p, std::size_t n) {
    // The project only targets little-endian hosts (x86-64, aarch64).
    if (n == 0)
      return;
    const std::size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, p, n);
  }
  bytes& out_;
};

class reader {
public:
  explicit reader(byte_view in) : in_(in) {}
  bool u8(std::uint8_t& v) { return get(&v, 1); }
  /// The two bytes every frame starts with: destination port, message type.
  bool header(std::uint8_t& port, std::uint8_t& type) { return u8(port) && u8(type); }
  bool u16(std::uint16_t& v) { return get(&v, 2); }
  bool u32(std::uint32_t& v) { return get(&v, 4); }
  bool u64(std::uint64_t& v) { return get(&v, 8); }
  /// LEB128 as written by writer::varint; false if cut, longer than 10
  /// bytes or beyond 64 bits.
  bool varint(std::uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!u8(b))
        return false;
      if (shift == 63 && b > 1)
        return false;
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80))
        return true;
    }
    return false;
  }
  template <std::size_t N>
  bool fixed(std::array<std::uint8_t, N>& a) {
    return get(a.data(), N);
  }
  bool str16(std::string& s, std::size_t max) {
    std::uint16_t n = 0;
    if (!u16(n) || n > max || remaining() < n)
      return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool blob32(byte_view& v, std::size_t max) {
    std::uint32_t n = 0;
    if (!u32(n) || n > max || remaining() < n)
      return false;
    v = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  /// A u8 count no larger than `max`, then that many items, each read by
  /// `get(reader&, item)` (false if it fails).
  template <class T, class Get>
  bool list8(std::vector<T>& out, std::size_t max, Get&& get) {
    std::uint8_t n = 0;
    if (!u8(n) || n > max)
      return false;
    out.resize(n);
    for (auto& x : out)
      if (!get(*this, x))
        return false;
    return true;
  }
  /// Everything that is left (used for trailing payloads).
  byte_view rest() {
    auto r = in_.subspan(pos_);
    pos_ = in_.size();
    return r;
  }
  std::size_t remaining() const { return in_.size() - pos_; }
  bool skip(std::size_t n) {
    if (remaining() < n)
      return false;
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == in_.size(); }

private:
  bool get(void* p, std::size_t n) {
    if (remaining() < n)
      return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  byte_view in_;
  std::size_t pos_ = 0;
};

/// The bytes `write(writer&)` produces.
template <class Write>
bytes build(Write&& write) {
  bytes out;
  writer w(out);
  write(w);
  return out;
}

/// Reads the fields of one message in wire order and keeps the first error,
/// which names the field ("req_id truncated"). Once a read or a check fails the
/// later ones are skipped, so a parser is its list of fields followed by one
/// look at error().
class fields {
public:
  explicit fields(reader& r) : r_(r) {}
  fields& u8(std::uint8_t& v, std::string_view field) { return got(ok() && !r_.u8(v), field); }
  fields& u16(std::uint16_t& v, std::string_view field) { return got(ok() && !r_.u16(v), field); }
  fields& u32(std::uint32_t& v, std::string_view field) { return got(ok() && !r_.u32(v), field); }
  fields& u64(std::uint64_t& v, std::string_view field) { return got(ok() && !r_.u64(v), field); }
  template <std::size_t N>
  fields& fixed(std::array<std::uint8_t, N>& a, std::string_view field) {
    return got(ok() && !r_.fixed(a), field);
  }
  /// A u16 length then at most `max` bytes of text.
  fields& str16(std::string& s, std::size_t max, std::string_view field) {
    if (ok() && !r_.str16(s, max))
      err_ = std::string(field) + " truncated or longer than " + std::to_string(max) + " bytes";
    return *this;
  }
  /// A u8 that must be one of the enumerators lo..hi; `kind` names the value
  /// in "unknown <kind> <byte>" (the field's name if empty).
  template <class E>
  fields& enum8(E& v, std::uint8_t lo, std::uint8_t hi, std::string_view field,
                std::string_view kind = {}) {
    std::uint8_t b = 0;
    if (!u8(b, field).ok())
      return *this;
    if (b < lo || b > hi)
      err_ = "unknown " + std::string(kind.empty() ? field : kind) + " " + std::to_string(b);
    else
      v = static_cast<E>(b);
    return *this;
  }
  /// Fails with `why` unless `holds`; `why` is text or a function making it
  /// (so the text is only built for a frame that fails).
  template <class Why>
  fields& check(bool holds, Why&& why) {
    if (ok() && !holds) {
      if constexpr (std::invocable<Why>)
        err_ = why();
      else
        err_ = why;
    }
    return *this;
  }
  bool ok() const { return err_.empty(); }
  /// The first error, or "" if every field was read and every check held.
  const std::string& error() const { return err_; }

private:
  fields& got(bool failed, std::string_view field) {
    if (failed)
      err_ = std::string(field) + " truncated";
    return *this;
  }
  reader& r_;
  std::string err_;
};

/// Decodes one message whose fields fill the rest of `r`: `parse(m)` returns
/// an error text or "", and bytes left over are an error too. An error is
/// prefixed with the message's name. Result is a codec's {message, error}.
template <class Result, class M, class Parse>
Result decode_whole(reader& r, const char* name, M m, Parse&& parse) {
  std::string err = parse(m);
  if (err.empty() && !r.at_end())
    err = std::to_string(r.remaining()) + " trailing bytes";
  if (!err.empty())
    return Result{{}, std::string(name) + ": " + err};
  return Result{std::move(m), ""};
}

} // namespace peerlab::wire
