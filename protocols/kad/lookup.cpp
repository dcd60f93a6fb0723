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
    // Full: keep the new one only if it is closer than the farthest droppable
    // (anything but in flight; a dropped stalled peer's late answer is ignored).
    auto far = by_distance_.end();
    for (auto it = by_distance_.rbegin(); it != by_distance_.rend(); ++it)
      if (it->second.st != state::waiting) {
        far = std::prev(it.base());
        break;
      }
    if (far == by_distance_.end() || !(d < far->first))
      return;
    if (far->second.st == state::stalled)
      --stalled_;
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
    if (cand.st == state::failed || cand.st == state::stalled)
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

lookup::candidate* lookup::find(peer_id p) {
  auto k = known_.find(p);
  if (k == known_.end())
    return nullptr;
  auto it = by_distance_.find(k->second);
  return it == by_distance_.end() ? nullptr : &it->second; // null: dropped as too far
}

bool lookup::succeeded(peer_id p, const std::vector<contact>& closer) {
  candidate* cand = find(p);
  if (!cand || (cand->st != state::waiting && cand->st != state::stalled))
    return false; // duplicate, unasked or after a timeout: a failure is final
  --(cand->st == state::waiting ? in_flight_ : stalled_);
  cand->st = state::succeeded;
  std::uint32_t hop = cand->hop + 1;
  for (auto& c : closer)
    add(c, hop);
  return true;
}

void lookup::failed(peer_id p) {
  candidate* cand = find(p);
  if (!cand || (cand->st != state::waiting && cand->st != state::stalled))
    return;
  --(cand->st == state::waiting ? in_flight_ : stalled_);
  cand->st = state::failed;
}

bool lookup::stalled(peer_id p) {
  candidate* cand = find(p);
  if (!cand || cand->st != state::waiting)
    return false;
  --in_flight_;
  ++stalled_;
  cand->st = state::stalled;
  return true;
}

bool lookup::done() const {
  std::size_t live = 0;
  for (auto& [d, cand] : by_distance_) {
    if (live >= k_)
      return true; // k answered: stalled peers no longer matter
    if (cand.st == state::failed || cand.st == state::stalled)
      continue;
    ++live;
    if (cand.st != state::succeeded)
      return false;
  }
  // Fewer than k answered and nobody left to ask: a stalled peer may still
  // answer (with closer contacts), so it holds the lookup until it times out.
  return live >= k_ || stalled_ == 0;
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
