#pragma once
// k-buckets indexed by the common prefix length with our own id. Each bucket
// keeps its entries least-recently-seen first. A contact that does not fit
// goes to the bucket's replacement cache and the least-recently-seen entry is
// pinged; only if that ping fails (failed()) is the entry evicted and the most
// recently seen replacement promoted. Long-lived contacts are never pushed out
// by new ones (the Kademlia paper's policy).
#include "protocols/kad/contact.hpp"

#include <optional>
#include <vector>

namespace peerlab::kad {

class routing_table {
public:
  struct entry {
    contact c;
    time_us last_seen = 0;
  };
  /// last_refreshed of a bucket no lookup has touched yet.
  static constexpr time_us never = -(time_us{1} << 62);
  struct bucket {
    std::vector<entry> entries;      // front = least recently seen, at most k
    std::vector<entry> replacements; // back = most recently seen, at most the cache size
    std::optional<peer_id> pinging;  // least-recently-seen entry under liveness check
    time_us ping_started = 0;
    time_us last_refreshed = never; // last lookup for an id in this bucket
  };

  enum class outcome { added, updated, cached, ignored_self };
  struct observe_result {
    outcome what;
    std::optional<contact> ping; // set: send a PING to this entry (the bucket's LRS)
  };

  routing_table(const kad_id& self, std::size_t k, std::size_t replacement_cache);

  /// We heard from `c` (a valid message it sent us). `ping_timeout` lets a
  /// liveness check that never concluded be restarted.
  observe_result observe(const contact& c, time_us now, time_us ping_timeout);

  /// A request to `p` failed. Evicts it and promotes the most recently seen
  /// replacement; a failing replacement is dropped from the cache. Returns true
  /// if an entry was evicted.
  bool failed(peer_id p, const kad_id& id);

  /// Up to `n` entries closest to `target`, nearest first, without `exclude`.
  std::vector<contact> closest(const kad_id& target, std::size_t n, peer_id exclude = 0) const;

  bool contains(peer_id p, const kad_id& id) const;
  std::size_t size() const { return size_; }
  const kad_id& self() const { return self_; }
  std::size_t k() const { return k_; }
  /// Bucket `cpl` (0..255); buckets deeper than any contact are empty.
  const bucket& at(int cpl) const;
  /// Highest common prefix length of any entry, -1 if the table is empty.
  int max_cpl() const;
  /// Records a lookup for `target` (marks its bucket refreshed).
  void touch(const kad_id& target, time_us now);
  /// Every entry, bucket by bucket (cpl 0 first), LRS first inside a bucket.
  std::vector<contact> all() const;

private:
  kad_id self_;
  std::size_t k_;
  std::size_t cache_;
  std::size_t size_ = 0;
  // Only buckets up to the deepest one used exist (about log2(n) + a few in a
  // network of n nodes): a node costs ~20 buckets, not 256.
  std::vector<bucket> buckets_;
  bucket& grow_to(int cpl);
};

} // namespace peerlab::kad
