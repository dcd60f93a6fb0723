#include "net/framing.hpp"

#include <algorithm>
#include <cstring>

namespace peerlab::net {

std::array<std::uint8_t, frame_header_bytes> frame_header(std::size_t n) {
  auto v = static_cast<std::uint32_t>(n);
  std::array<std::uint8_t, frame_header_bytes> h{};
  std::memcpy(h.data(), &v, 4); // little-endian hosts only (see wire.hpp)
  return h;
}

void encode_frame(byte_view frame, bytes& out) {
  auto h = frame_header(frame.size());
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), frame.begin(), frame.end());
}

frame_decoder::frame_decoder(std::size_t max_frame, std::size_t staging)
    : max_(max_frame), staging_(std::max<std::size_t>(staging, 16)) {}

bool frame_decoder::feed(byte_view data) {
  while (!data.empty()) {
    auto buf = read_buffer();
    auto n = std::min(buf.size(), data.size());
    std::memcpy(buf.data(), data.data(), n);
    if (!commit(n))
      return false;
    data = data.subspan(n);
  }
  return error_.empty();
}

std::span<std::uint8_t> frame_decoder::read_buffer() {
  direct_ = in_body_ && body_.size() - body_have_ >= staging_.size();
  if (direct_)
    return {body_.data() + body_have_, body_.size() - body_have_};
  return {staging_.data(), staging_.size()};
}

bool frame_decoder::commit(std::size_t n) {
  if (!error_.empty())
    return false;
  if (direct_) {
    direct_ = false;
    body_have_ += n;
    if (body_have_ == body_.size()) {
      ready_.push_back(std::move(body_));
      body_ = bytes{};
      in_body_ = false;
    }
    return true;
  }
  return consume(staging_.data(), n);
}

bool frame_decoder::start_body() {
  std::uint32_t n = 0;
  std::memcpy(&n, header_.data(), 4);
  header_have_ = 0;
  if (n > max_) {
    error_ = "frame of " + std::to_string(n) + " bytes exceeds the bound of " +
             std::to_string(max_) + " bytes";
    return false;
  }
  body_.resize(n);
  body_have_ = 0;
  in_body_ = true;
  if (n == 0) {
    ready_.push_back(std::move(body_));
    body_ = bytes{};
    in_body_ = false;
  }
  return true;
}

bool frame_decoder::consume(const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    if (!in_body_) {
      auto k = std::min(n, frame_header_bytes - header_have_);
      std::memcpy(header_.data() + header_have_, p, k);
      header_have_ += k;
      p += k;
      n -= k;
      if (header_have_ == frame_header_bytes && !start_body())
        return false;
      continue;
    }
    auto k = std::min(n, body_.size() - body_have_);
    std::memcpy(body_.data() + body_have_, p, k);
    body_have_ += k;
    p += k;
    n -= k;
    if (body_have_ == body_.size()) {
      ready_.push_back(std::move(body_));
      body_ = bytes{};
      in_body_ = false;
    }
  }
  return true;
}

bytes frame_decoder::take() {
  bytes f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

} // namespace peerlab::net
