#include "protocols/kad/lookup.hpp"

#include <algorithm>
#include <iterator>

namespace peerlab::kad {

lookup::lookup(const kad_id& target, peer_id self, std::size_t k, std::size_t alpha,
               std::size_t max_candidates)
    : target_(target), self_(self), k_(k), alpha_(alpha),
      max_candidates_(max_candidates < k ? k : max_candidates) {}

void lookup::add(const contact& c, std::uint32_t hop) {
  if (c.peer == self_ || known_.count(c.peer))
    return;
  kad_id d = distance(target_, c.id);
  if (by_distance_.size() >= max_candidates_) {
    // Full: keep the new one only if it is closer than the farthest droppable.
    auto far = by_distance_.end();
    for (auto it = by_distance_.rbegin(); it != by_distance_.rend(); ++it)
      if (it->second.st != state::waiting) {
        far = std::prev(it.base());
        break;
      }
    if (far == by_distance_.end() || !(d < far->first))
      return;
    by_distance_.erase(far);
  }
  known_.emplace(c.peer, d);
  by_distance_.emplace(d, candidate{c, state::fresh, hop});
}

std::vector<contact> lookup::next() {
  std::vector<contact> out;
  std::size_t live = 0;
  for (auto& [d, cand] : by_distance_) {
    if (live >= k_ || in_flight_ >= alpha_)
      break;
    if (cand.st == state::failed)
      continue;
    ++live;
    if (cand.st == state::fresh) {
      cand.st = state::waiting;
      ++in_flight_;
      out.push_back(cand.c);
    }
  }
  return out;
}

bool lookup::succeeded(peer_id p, const std::vector<contact>& closer) {
  auto k = known_.find(p);
  if (k == known_.end())
    return false;
  auto it = by_distance_.find(k->second);
  if (it == by_distance_.end())
    return false; // dropped as too far
  candidate& cand = it->second;
  if (cand.st != state::waiting)
    return false; // duplicate, unasked or after a timeout: a failure is final
  --in_flight_;
  cand.st = state::succeeded;
  std::uint32_t hop = cand.hop + 1;
  for (auto& c : closer)
    add(c, hop);
  return true;
}

void lookup::failed(peer_id p) {
  auto k = known_.find(p);
  if (k == known_.end())
    return;
  auto it = by_distance_.find(k->second);
  if (it == by_distance_.end() || it->second.st != state::waiting)
    return;
  --in_flight_;
  it->second.st = state::failed;
}

bool lookup::done() const {
  std::size_t live = 0;
  for (auto& [d, cand] : by_distance_) {
    if (live >= k_)
      break;
    if (cand.st == state::failed)
      continue;
    ++live;
    if (cand.st != state::succeeded)
      return false;
  }
  return true;
}

std::uint32_t lookup::hop_of(peer_id p) const {
  auto k = known_.find(p);
  if (k == known_.end())
    return 0;
  auto it = by_distance_.find(k->second);
  return it == by_distance_.end() ? 0 : it->second.hop;
}

std::vector<const lookup::candidate*> lookup::closest_succeeded(std::size_t n) const {
  std::vector<const candidate*> out;
  for (auto& [d, cand] : by_distance_) {
    if (out.size() >= n)
      break;
    if (cand.st == state::succeeded)
      out.push_back(&cand);
  }
  return out;
}

std::uint32_t lookup::hops() const {
  std::uint32_t h = 0;
  for (auto* c : closest_succeeded(k_))
    h = std::max(h, c->hop);
  return h;
}

} // namespace peerlab::kad
