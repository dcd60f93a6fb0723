#include "protocols/cdn/lru_cache.hpp"

namespace peerlab::cdn {

const lru_cache::entry* lru_cache::find(const std::string& url, const hash224& sha) {
  auto it = index_.find(url);
  if (it == index_.end() || it->second->sha != sha)
    return nullptr;
  order_.splice(order_.begin(), order_, it->second);
  return &*it->second;
}

bool lru_cache::put(std::string url, const hash224& sha, bytes data) {
  if (auto it = index_.find(url); it != index_.end())
    erase(it->second);
  if (data.size() > max_bytes_ || max_entries_ == 0)
    return false;
  bytes_ += data.size();
  order_.push_front(entry{url, sha, std::move(data)});
  index_[std::move(url)] = order_.begin();
  while (index_.size() > max_entries_ || bytes_ > max_bytes_)
    erase(std::prev(order_.end()));
  return true;
}

void lru_cache::erase(std::list<entry>::iterator it) {
  bytes_ -= it->data.size();
  index_.erase(it->url);
  order_.erase(it);
}

} // namespace peerlab::cdn
