#pragma once
// One iterative lookup toward a target id, as a pure state machine (no timers,
// no messages: the node drives it). Candidates are kept sorted by distance.
// At most alpha requests are in flight, always to the closest not yet
// contacted candidates among the k closest that have not failed or stalled. A
// request the node declares stalled (slow, not yet timed out) stops counting
// against alpha and drops out of the k closest like a failed one, so the next
// candidate is asked (rust-libp2p's "unresponsive" peers); its late answer is
// still taken and puts it back. The lookup is done when those k closest have
// all answered (failed and stalled ones drop out and the next closest move
// up), or when no candidate is left to ask and no stalled request is left
// (with fewer than k answers a stalled peer holds the lookup until it answers
// or times out).
#include "protocols/kad/contact.hpp"

#include <cstdint>
#include <map>
#include <vector>

namespace peerlab::kad {

class lookup {
public:
  enum class state : std::uint8_t { fresh, waiting, stalled, succeeded, failed };
  struct candidate {
    contact c;
    state st = state::fresh;
    std::uint32_t hop = 1; // seeds are hop 1; a contact learned from a hop-h answer is h + 1
  };

  /// `self` is never added as a candidate. `max_candidates` bounds memory: the
  /// farthest candidates that are not in flight are dropped beyond it.
  lookup(const kad_id& target, peer_id self, std::size_t k, std::size_t alpha,
         std::size_t max_candidates);

  /// Adds a candidate (ignored if already known or self).
  void add(const contact& c, std::uint32_t hop);

  /// Candidates to ask now (marked waiting). Empty if alpha are in flight or
  /// nobody among the k closest is left to ask.
  std::vector<contact> next();

  /// `p` answered with `closer` contacts. Returns false (and changes nothing)
  /// unless a request to `p` is in flight or stalled: a timeout is final.
  bool succeeded(peer_id p, const std::vector<contact>& closer);
  /// A request to `p` failed or timed out.
  void failed(peer_id p);
  /// The request to `p` is slow: it no longer counts against alpha nor among
  /// the k closest. Returns false unless it was in flight.
  bool stalled(peer_id p);

  bool done() const;
  /// Requests counting against alpha (stalled ones do not).
  std::size_t in_flight() const { return in_flight_; }
  std::size_t stalled_count() const { return stalled_; }
  const kad_id& target() const { return target_; }
  /// Hop of candidate `p` (0 if unknown).
  std::uint32_t hop_of(peer_id p) const;

  /// Up to `n` candidates that answered, nearest first.
  std::vector<const candidate*> closest_succeeded(std::size_t n) const;
  /// Largest hop among the k closest that answered (the lookup's depth).
  std::uint32_t hops() const;

private:
  kad_id target_;
  peer_id self_;
  std::size_t k_, alpha_, max_candidates_;
  std::size_t in_flight_ = 0;
  std::size_t stalled_ = 0;
  std::map<kad_id, candidate> by_distance_; // key: XOR distance to target
  std::map<peer_id, kad_id> known_;         // every peer ever added -> distance
  candidate* find(peer_id p);
};

} // namespace peerlab::kad
