#include "protocols/gossip/caches.hpp"

namespace peerlab::gossip {

message_cache::message_cache(std::size_t history, std::size_t gossip, std::size_t max_messages,
                             std::size_t max_bytes)
    : history_(history < 1 ? 1 : history), gossip_(gossip), max_messages_(max_messages),
      max_bytes_(max_bytes) {
  windows_.emplace_back();
}

bool message_cache::put(const msg_id& id, const std::string& topic, const bytes& data,
                        std::uint8_t hops) {
  if (entries_.count(id) != 0 || entries_.size() >= max_messages_ ||
      bytes_ + data.size() > max_bytes_)
    return false;
  entries_.emplace(id, entry{topic, data, hops, {}});
  bytes_ += data.size();
  windows_.front().push_back(id);
  return true;
}

message_cache::entry* message_cache::get(const msg_id& id) {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<msg_id> message_cache::gossip_ids(const std::string& topic) const {
  std::vector<msg_id> out;
  const std::size_t n = std::min(gossip_, windows_.size());
  for (std::size_t w = n; w-- > 0;)
    for (auto& id : windows_[w]) {
      auto it = entries_.find(id);
      if (it != entries_.end() && it->second.topic == topic)
        out.push_back(id);
    }
  return out;
}

void message_cache::shift() {
  while (windows_.size() >= history_) {
    for (auto& id : windows_.back()) {
      auto it = entries_.find(id);
      if (it != entries_.end()) {
        bytes_ -= it->second.data.size();
        entries_.erase(it);
      }
    }
    windows_.pop_back();
  }
  windows_.emplace_front();
}

void message_cache::clear() {
  entries_.clear();
  windows_.clear();
  windows_.emplace_back();
  bytes_ = 0;
}

std::optional<time_us> seen_cache::first_seen(const msg_id& id) const {
  auto it = first_.find(id);
  if (it == first_.end())
    return std::nullopt;
  return it->second;
}

bool seen_cache::insert(const msg_id& id, time_us now) {
  if (!first_.emplace(id, now).second)
    return false;
  order_.emplace_back(now, id);
  bool evicted = false;
  while (first_.size() > max_) {
    first_.erase(order_.front().second);
    order_.pop_front();
    evicted = true;
  }
  return evicted;
}

void seen_cache::expire(time_us now) {
  while (!order_.empty() && order_.front().first + ttl_ <= now) {
    first_.erase(order_.front().second);
    order_.pop_front();
  }
}

void seen_cache::clear() {
  first_.clear();
  order_.clear();
}

} // namespace peerlab::gossip
