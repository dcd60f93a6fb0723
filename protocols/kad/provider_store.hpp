#pragma once
// Provider records one node stores for others: key -> providing peers, each
// with an expiry. Bounded per key, per providing peer (so one peer cannot
// flood a node with fake records) and in total. A full bound refuses the new
// record and keeps every stored one. Expired records are dropped before every
// operation through an index ordered by expiry, so no periodic sweep is needed.
#include "protocols/kad/contact.hpp"

#include <cstddef>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace peerlab::kad {

class provider_store {
public:
  struct bounds {
    std::size_t per_key = 20;
    std::size_t per_peer = 1024;
    std::size_t total = 65536;
  };
  enum class add_result { added, refreshed, key_full, peer_full, store_full };

  explicit provider_store(bounds b) : bounds_(b) {}

  /// Stores (or refreshes) `provider` for `key` until `expires`.
  add_result add(const kad_id& key, const contact& provider, time_us expires, time_us now);
  /// Unexpired providers of `key`, most recently refreshed first, at most `max`.
  std::vector<contact> get(const kad_id& key, time_us now, std::size_t max);
  void remove(const kad_id& key, peer_id provider);
  /// Drops every record that expired at or before `now`; returns how many.
  std::size_t expire(time_us now);

  /// Unexpired providers of `key` at `now` (does not drop anything).
  std::size_t count(const kad_id& key, time_us now) const;
  std::size_t size() const { return by_expiry_.size(); }
  std::size_t keys() const { return records_.size(); }
  std::size_t count_for_peer(peer_id p) const;
  void clear();

private:
  struct record {
    contact provider;
    time_us expires = 0;
  };
  void erase(const kad_id& key, peer_id p);

  bounds bounds_;
  std::map<kad_id, std::map<peer_id, record>> records_;
  std::set<std::tuple<time_us, kad_id, peer_id>> by_expiry_;
  std::map<peer_id, std::size_t> per_peer_;
};

} // namespace peerlab::kad
