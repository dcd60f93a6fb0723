#include "protocols/kad/routing_table.hpp"

#include <algorithm>

namespace peerlab::kad {

namespace {
template <class V>
auto find_peer(V& v, peer_id p) {
  return std::find_if(v.begin(), v.end(), [&](auto& e) { return e.c.peer == p; });
}
} // namespace

routing_table::routing_table(const kad_id& self, std::size_t k, std::size_t replacement_cache)
    : self_(self), k_(k), cache_(replacement_cache) {}

routing_table::observe_result routing_table::observe(const contact& c, time_us now,
                                                     time_us ping_timeout) {
  int cpl = common_prefix_len(self_, c.id);
  if (cpl >= id_bits)
    return {outcome::ignored_self, std::nullopt};
  bucket& b = grow_to(cpl);
  if (auto it = find_peer(b.entries, c.peer); it != b.entries.end()) {
    // Seen again: becomes the most recently seen; an answered ping ends here.
    entry e{c, now};
    b.entries.erase(it);
    b.entries.push_back(std::move(e));
    if (b.pinging == c.peer)
      b.pinging.reset();
    return {outcome::updated, std::nullopt};
  }
  if (auto it = find_peer(b.replacements, c.peer); it != b.replacements.end())
    b.replacements.erase(it);
  if (b.entries.size() < k_) {
    b.entries.push_back({c, now});
    ++size_;
    return {outcome::added, std::nullopt};
  }
  if (cache_ > 0) {
    b.replacements.push_back({c, now});
    if (b.replacements.size() > cache_)
      b.replacements.erase(b.replacements.begin());
  }
  // Check the least recently seen entry unless a check is already running.
  if (!b.pinging || now - b.ping_started > 2 * ping_timeout) {
    b.pinging = b.entries.front().c.peer;
    b.ping_started = now;
    return {outcome::cached, b.entries.front().c};
  }
  return {outcome::cached, std::nullopt};
}

bool routing_table::failed(peer_id p, const kad_id& id) {
  int cpl = common_prefix_len(self_, id);
  if (cpl >= static_cast<int>(buckets_.size()))
    return false;
  bucket& b = buckets_[static_cast<std::size_t>(cpl)];
  if (b.pinging == p)
    b.pinging.reset();
  auto it = find_peer(b.entries, p);
  if (it == b.entries.end()) {
    if (auto r = find_peer(b.replacements, p); r != b.replacements.end())
      b.replacements.erase(r);
    return false;
  }
  b.entries.erase(it);
  --size_;
  if (!b.replacements.empty()) {
    // The promoted contact keeps its last-seen time, so it sorts among the
    // entries by when we really heard from it.
    entry e = std::move(b.replacements.back());
    b.replacements.pop_back();
    auto pos = std::find_if(b.entries.begin(), b.entries.end(),
                            [&](const entry& x) { return x.last_seen > e.last_seen; });
    b.entries.insert(pos, std::move(e));
    ++size_;
  }
  return true;
}

std::vector<contact> routing_table::closest(const kad_id& target, std::size_t n,
                                            peer_id exclude) const {
  std::vector<const contact*> all;
  all.reserve(size_);
  for (auto& b : buckets_)
    for (auto& e : b.entries)
      if (e.c.peer != exclude)
        all.push_back(&e.c);
  auto by_distance = [&](const contact* a, const contact* b) {
    return closer(target, a->id, b->id);
  };
  if (all.size() > n) {
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                     by_distance);
    all.resize(n);
  }
  std::sort(all.begin(), all.end(), by_distance);
  std::vector<contact> out;
  out.reserve(all.size());
  for (auto* c : all)
    out.push_back(*c);
  return out;
}

bool routing_table::contains(peer_id p, const kad_id& id) const {
  auto& e = at(common_prefix_len(self_, id)).entries;
  return std::any_of(e.begin(), e.end(), [&](const entry& x) { return x.c.peer == p; });
}

const routing_table::bucket& routing_table::at(int cpl) const {
  static const bucket empty;
  return cpl >= 0 && cpl < static_cast<int>(buckets_.size())
           ? buckets_[static_cast<std::size_t>(cpl)]
           : empty;
}

routing_table::bucket& routing_table::grow_to(int cpl) {
  if (cpl >= static_cast<int>(buckets_.size()))
    buckets_.resize(static_cast<std::size_t>(cpl) + 1);
  return buckets_[static_cast<std::size_t>(cpl)];
}

int routing_table::max_cpl() const {
  for (int i = static_cast<int>(buckets_.size()) - 1; i >= 0; --i)
    if (!buckets_[static_cast<std::size_t>(i)].entries.empty())
      return i;
  return -1;
}

void routing_table::touch(const kad_id& target, time_us now) {
  int cpl = common_prefix_len(self_, target);
  if (cpl < id_bits)
    grow_to(cpl).last_refreshed = now;
}

std::vector<contact> routing_table::all() const {
  std::vector<contact> out;
  out.reserve(size_);
  for (auto& b : buckets_)
    for (auto& e : b.entries)
      out.push_back(e.c);
  return out;
}

} // namespace peerlab::kad
