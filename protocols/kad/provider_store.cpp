#include "protocols/kad/provider_store.hpp"

#include <algorithm>

namespace peerlab::kad {

provider_store::add_result provider_store::add(const kad_id& key, const contact& provider,
                                               time_us expires, time_us now) {
  expire(now);
  auto& per_key = records_[key];
  if (auto it = per_key.find(provider.peer); it != per_key.end()) {
    by_expiry_.erase({it->second.expires, key, provider.peer});
    it->second = record{provider, expires};
    by_expiry_.insert({expires, key, provider.peer});
    return add_result::refreshed;
  }
  add_result refused = add_result::added;
  if (per_key.size() >= bounds_.per_key)
    refused = add_result::key_full;
  else if (count_for_peer(provider.peer) >= bounds_.per_peer)
    refused = add_result::peer_full;
  else if (by_expiry_.size() >= bounds_.total)
    refused = add_result::store_full;
  if (refused != add_result::added) {
    if (per_key.empty())
      records_.erase(key);
    return refused;
  }
  per_key.emplace(provider.peer, record{provider, expires});
  by_expiry_.insert({expires, key, provider.peer});
  ++per_peer_[provider.peer];
  return add_result::added;
}

std::vector<contact> provider_store::get(const kad_id& key, time_us now, std::size_t max) {
  expire(now);
  std::vector<const record*> found;
  if (auto it = records_.find(key); it != records_.end())
    for (auto& [p, r] : it->second)
      found.push_back(&r);
  // Most recently refreshed first; ties by peer id (map order, stable sort).
  std::stable_sort(found.begin(), found.end(),
                   [](const record* a, const record* b) { return a->expires > b->expires; });
  std::vector<contact> out;
  for (std::size_t i = 0; i < found.size() && i < max; ++i)
    out.push_back(found[i]->provider);
  return out;
}

void provider_store::remove(const kad_id& key, peer_id provider) { erase(key, provider); }

std::size_t provider_store::expire(time_us now) {
  std::size_t n = 0;
  while (!by_expiry_.empty() && std::get<0>(*by_expiry_.begin()) <= now) {
    auto [t, key, p] = *by_expiry_.begin();
    erase(key, p);
    ++n;
  }
  return n;
}

std::size_t provider_store::count(const kad_id& key, time_us now) const {
  auto it = records_.find(key);
  if (it == records_.end())
    return 0;
  std::size_t n = 0;
  for (auto& [p, r] : it->second)
    n += r.expires > now ? 1 : 0;
  return n;
}

std::size_t provider_store::count_for_peer(peer_id p) const {
  auto it = per_peer_.find(p);
  return it == per_peer_.end() ? 0 : it->second;
}

void provider_store::clear() {
  records_.clear();
  by_expiry_.clear();
  per_peer_.clear();
}

void provider_store::erase(const kad_id& key, peer_id p) {
  auto k = records_.find(key);
  if (k == records_.end())
    return;
  auto r = k->second.find(p);
  if (r == k->second.end())
    return;
  by_expiry_.erase({r->second.expires, key, p});
  k->second.erase(r);
  if (k->second.empty())
    records_.erase(k);
  if (auto c = per_peer_.find(p); c != per_peer_.end() && --c->second == 0)
    per_peer_.erase(c);
}

} // namespace peerlab::kad
