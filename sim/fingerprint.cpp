#include "sim/fingerprint.hpp"

#include <algorithm>
#include <cstdio>

namespace peerlab::sim {

const char* kind_name(event_kind k) {
  switch (k) {
  case event_kind::deliver:
    return "deliver";
  case event_kind::timer:
    return "timer";
  case event_kind::command:
    return "command";
  case event_kind::node_up:
    return "node_up";
  case event_kind::node_down:
    return "node_down";
  case event_kind::arrive:
    return "arrive";
  case event_kind::control:
    return "control";
  }
  return "?";
}

void fingerprint::extend(time_us t, event_kind k, std::uint64_t node, std::uint8_t port,
                         std::uint64_t detail, byte_view payload) {
  std::uint64_t h = chain_;
  h = hash_combine(h, static_cast<std::uint64_t>(t));
  h = hash_combine(h, (static_cast<std::uint64_t>(k) << 8) | port);
  h = hash_combine(h, node);
  h = hash_combine(h, detail);
  if (!payload.empty()) {
    std::size_t head = std::min<std::size_t>(payload.size(), 64);
    h = hash_combine(h, stable_hash(payload.data(), head, payload.size()));
    if (payload.size() > 64) {
      std::size_t tail = std::min<std::size_t>(payload.size() - 64, 16);
      h = hash_combine(h, stable_hash(payload.data() + payload.size() - tail, tail));
    }
  }
  chain_ = h;
  ++count_;
  if (record_ && trace_.size() < max_entries_) {
    std::uint8_t msg = payload.size() > 1 ? payload[1] : 0;
    trace_.push_back({h, t, node, k, port, msg, detail});
  }
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string fingerprint::hex() const { return hex64(chain_); }

} // namespace peerlab::sim
