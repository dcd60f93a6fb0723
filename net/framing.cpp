#include "net/framing.hpp"

#include <cstring>

namespace peerlab::net {

void encode_frame(byte_view frame, bytes& out) {
  auto n = static_cast<std::uint32_t>(frame.size());
  std::uint8_t len[4];
  std::memcpy(len, &n, 4);
  out.insert(out.end(), len, len + 4);
  out.insert(out.end(), frame.begin(), frame.end());
}

bool frame_decoder::feed(byte_view data) {
  if (!error_.empty())
    return false;
  pending_.insert(pending_.end(), data.begin(), data.end());
  std::size_t pos = 0;
  while (pending_.size() - pos >= 4) {
    std::uint32_t n = 0;
    std::memcpy(&n, pending_.data() + pos, 4);
    if (n > max_) {
      error_ = "frame of " + std::to_string(n) + " bytes exceeds the bound of " +
               std::to_string(max_) + " bytes";
      return false;
    }
    if (pending_.size() - pos - 4 < n)
      break;
    ready_.emplace_back(pending_.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                        pending_.begin() + static_cast<std::ptrdiff_t>(pos + 4 + n));
    pos += 4 + n;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pos));
  return true;
}

bytes frame_decoder::take() {
  bytes f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

} // namespace peerlab::net
