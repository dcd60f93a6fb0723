#pragma once
// The two caches of gossipsub: the message cache (recent messages, served on
// IWANT and announced by IHAVE, in heartbeat windows) and the seen cache
// (ids already handled, kept for seen_ttl so duplicates are dropped).
#include "protocols/gossip/codec.hpp"

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::gossip {

class message_cache {
public:
  struct entry {
    std::string topic;
    bytes data;
    std::uint8_t hops = 0;                  // as received (0 for own messages)
    std::map<peer_id, std::uint8_t> served; // IWANT answers per peer
  };

  /// `history` windows are kept, the newest `gossip` of them are announced.
  message_cache(std::size_t history, std::size_t gossip, std::size_t max_messages,
                std::size_t max_bytes);

  /// Adds a message to the newest window. False (and nothing changes) if it is
  /// already cached or a bound would be exceeded.
  bool put(const msg_id& id, const std::string& topic, const bytes& data, std::uint8_t hops);
  entry* get(const msg_id& id);
  /// Ids of `topic` in the newest `gossip` windows, oldest first.
  std::vector<msg_id> gossip_ids(const std::string& topic) const;
  /// Heartbeat: drops the oldest window and opens a new one.
  void shift();
  void clear();

  std::size_t messages() const { return entries_.size(); }
  std::size_t bytes_cached() const { return bytes_; }

private:
  std::size_t history_, gossip_, max_messages_, max_bytes_;
  std::map<msg_id, entry> entries_;
  std::deque<std::vector<msg_id>> windows_; // front = newest
  std::size_t bytes_ = 0;
};

class seen_cache {
public:
  seen_cache(time_us ttl, std::size_t max_entries) : ttl_(ttl), max_(max_entries) {}

  /// When the id was first seen, if it still is in the cache.
  std::optional<time_us> first_seen(const msg_id& id) const;
  bool contains(const msg_id& id) const { return first_.count(id) != 0; }
  /// Records a new id. Returns true if the bound forced an early eviction.
  bool insert(const msg_id& id, time_us now);
  /// Forgets ids seen more than ttl ago.
  void expire(time_us now);
  void clear();
  std::size_t size() const { return first_.size(); }

private:
  time_us ttl_;
  std::size_t max_;
  std::map<msg_id, time_us> first_;
  std::deque<std::pair<time_us, msg_id>> order_; // insertion order = time order
};

} // namespace peerlab::gossip
