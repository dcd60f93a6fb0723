#pragma once
// Bounds-checked little-endian encoding used by every codec. A reader never
// reads past its end: every getter reports failure and the codec turns that
// into a decode error naming the field.
#include "protocols/common/types.hpp"

#include <array>
#include <cstring>
#include <string>
#include <string_view>

namespace peerlab::wire {

class writer {
public:
  explicit writer(bytes& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(&v, 2); }
  void u32(std::uint32_t v) { put(&v, 4); }
  void u64(std::uint64_t v) { put(&v, 8); }
  void raw(byte_view v) { out_.insert(out_.end(), v.begin(), v.end()); }
  template <std::size_t N>
  void fixed(const std::array<std::uint8_t, N>& a) {
    raw(byte_view{a.data(), N});
  }
  /// u16 length then bytes; callers bound the length beforehand.
  void str16(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
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
    auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  bytes& out_;
};

class reader {
public:
  explicit reader(byte_view in) : in_(in) {}
  bool u8(std::uint8_t& v) { return get(&v, 1); }
  bool u16(std::uint16_t& v) { return get(&v, 2); }
  bool u32(std::uint32_t& v) { return get(&v, 4); }
  bool u64(std::uint64_t& v) { return get(&v, 8); }
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
  /// Everything that is left (used for trailing payloads).
  byte_view rest() {
    auto r = in_.subspan(pos_);
    pos_ = in_.size();
    return r;
  }
  std::size_t remaining() const { return in_.size() - pos_; }
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

} // namespace peerlab::wire
