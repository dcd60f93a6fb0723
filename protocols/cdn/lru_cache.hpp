#pragma once
// The client's cache of verified resources: least recently used first out,
// bounded by entries and by bytes. Only bytes whose SHA-224 matched go in.
#include "protocols/cdn/hash.hpp"

#include <cstdint>
#include <list>
#include <map>
#include <string>

namespace peerlab::cdn {

class lru_cache {
public:
  struct entry {
    std::string url;
    hash224 sha{};
    bytes data;
  };

  lru_cache(std::size_t max_entries, std::uint64_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  /// The entry for `url` if it holds `sha`; marks it used.
  const entry* find(const std::string& url, const hash224& sha);
  /// Inserts or replaces; evicts the least recently used until within bounds.
  /// A resource larger than the byte bound is not kept. Returns whether it was kept.
  bool put(std::string url, const hash224& sha, bytes data);
  std::size_t size() const { return index_.size(); }
  std::uint64_t bytes_held() const { return bytes_; }
  /// Entries, most recently used first (for hosts that persist the cache).
  const std::list<entry>& entries() const { return order_; }

private:
  void erase(std::list<entry>::iterator it);
  std::size_t max_entries_;
  std::uint64_t max_bytes_;
  std::uint64_t bytes_ = 0;
  std::list<entry> order_; // front: most recently used
  std::map<std::string, std::list<entry>::iterator> index_;
};

} // namespace peerlab::cdn
