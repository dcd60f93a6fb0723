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

frame_decoder::frame_decoder(std::size_t max_frame, std::size_t staging,
                             std::size_t first_frame_max)
    : max_(max_frame), first_max_(first_frame_max ? first_frame_max : max_frame),
      staging_(std::max<std::size_t>(staging, 16)) {}

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
  if (in_body_ && body_have_ == body_.size())
    grow_body();
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
    if (body_have_ == body_total_)
      finish_body();
    return true;
  }
  return consume(staging_.data(), n);
}

bool frame_decoder::start_body() {
  std::uint32_t n = 0;
  std::memcpy(&n, header_.data(), 4);
  header_have_ = 0;
  const auto bound = first_ ? first_max_ : max_;
  first_ = false;
  if (n > bound) {
    error_ = "frame of " + std::to_string(n) + " bytes exceeds the bound of " +
             std::to_string(bound) + " bytes" + (bound < max_ ? " before the hello" : "");
    return false;
  }
  body_ = bytes{};
  body_total_ = n;
  body_have_ = 0;
  in_body_ = true;
  if (n == 0)
    finish_body();
  return true;
}

void frame_decoder::grow_body() {
  // Doubling keeps the copies linear in the frame size; the first step is the
  // staging size, so an announced length alone costs at most that much.
  auto step = std::max(body_have_, staging_.size());
  body_.resize(std::min(body_total_, body_have_ + step));
}

void frame_decoder::finish_body() {
  ready_.push_back(std::move(body_));
  body_ = bytes{};
  body_total_ = body_have_ = 0;
  in_body_ = false;
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
    if (body_have_ == body_.size())
      grow_body();
    auto k = std::min(n, body_.size() - body_have_);
    std::memcpy(body_.data() + body_have_, p, k);
    body_have_ += k;
    p += k;
    n -= k;
    if (body_have_ == body_total_)
      finish_body();
  }
  return true;
}

bytes frame_decoder::take() {
  bytes f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

} // namespace peerlab::net
