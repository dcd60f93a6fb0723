#include "protocols/kad/lookup.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace peerlab;
using namespace peerlab::kad;

namespace {

std::vector<peer_id> peers(const std::vector<contact>& cs) {
  std::vector<peer_id> out;
  for (auto& c : cs)
    out.push_back(c.peer);
  return out;
}

// Peers 1..n sorted by distance to target.
std::vector<contact> by_distance(const kad_id& target, peer_id n) {
  std::vector<contact> all;
  for (peer_id p = 1; p <= n; ++p)
    all.push_back(make_contact(p));
  std::sort(all.begin(), all.end(),
            [&](const contact& a, const contact& b) { return closer(target, a.id, b.id); });
  return all;
}

/// Adds every contact of `cs` as a seed (hop 1).
void add_all(lookup& l, const std::vector<contact>& cs) {
  for (auto& c : cs)
    l.add(c, 1);
}

} // namespace

TEST_CASE("a lookup asks the alpha closest first and never more than alpha at once",
          "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 10);
  lookup l(target, 999, 4, 2, 32);
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it)
    l.add(*it, 1);
  auto first = l.next();
  CHECK(peers(first) == std::vector<peer_id>{sorted[0].peer, sorted[1].peer});
  CHECK(l.next().empty());
  CHECK(l.in_flight() == 2);
  CHECK(l.succeeded(sorted[0].peer, {}));
  CHECK(peers(l.next()) == std::vector<peer_id>{sorted[2].peer});
  CHECK_FALSE(l.done());
}

TEST_CASE("a lookup ends when the k closest not failed have answered", "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 10);
  lookup l(target, 999, 3, 3, 32);
  add_all(l, sorted);
  // The closest fails; the lookup must then wait for the 4th closest.
  auto ask = l.next();
  REQUIRE(ask.size() == 3);
  l.failed(sorted[0].peer);
  CHECK(l.succeeded(sorted[1].peer, {}));
  CHECK(l.succeeded(sorted[2].peer, {}));
  CHECK_FALSE(l.done());
  CHECK(peers(l.next()) == std::vector<peer_id>{sorted[3].peer});
  CHECK_FALSE(l.done());
  CHECK(l.succeeded(sorted[3].peer, {}));
  CHECK(l.done());
  std::vector<peer_id> got;
  for (auto* c : l.closest_succeeded(3))
    got.push_back(c->c.peer);
  CHECK(got == std::vector<peer_id>{sorted[1].peer, sorted[2].peer, sorted[3].peer});
  // A failure is final: a late answer changes nothing.
  CHECK_FALSE(l.succeeded(sorted[0].peer, {}));
}

TEST_CASE("a lookup with no candidates, or only failing ones, is done", "[kad][lookup]") {
  lookup empty(id_of(1), 999, 20, 3, 160);
  CHECK(empty.next().empty());
  CHECK(empty.done());
  lookup l(id_of(1), 999, 20, 3, 160);
  for (peer_id p = 1; p <= 5; ++p)
    l.add(make_contact(p), 1);
  for (int round = 0; round < 2; ++round)
    for (auto& c : l.next())
      l.failed(c.peer);
  CHECK(l.done());
  CHECK(l.closest_succeeded(20).empty());
}

TEST_CASE("contacts from answers join with hop + 1 and self and duplicates are ignored",
          "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 30);
  lookup l(target, sorted[0].peer, 2, 1, 64);
  l.add(sorted[0], 1); // self: ignored
  l.add(sorted[20], 1);
  auto ask = l.next();
  REQUIRE(peers(ask) == std::vector<peer_id>{sorted[20].peer});
  CHECK(l.succeeded(sorted[20].peer, {sorted[5], sorted[20], sorted[0]}));
  CHECK(l.hop_of(sorted[5].peer) == 2);
  CHECK(l.hop_of(sorted[0].peer) == 0);
  auto ask2 = l.next();
  REQUIRE(peers(ask2) == std::vector<peer_id>{sorted[5].peer});
  CHECK(l.succeeded(sorted[5].peer, {sorted[1]}));
  CHECK(l.hop_of(sorted[1].peer) == 3);
  CHECK(peers(l.next()) == std::vector<peer_id>{sorted[1].peer});
  CHECK(l.succeeded(sorted[1].peer, {}));
  CHECK(l.done());
  CHECK(l.hops() == 3); // depth of the k = 2 closest that answered (sorted[1], sorted[5])
}

TEST_CASE("candidates are bounded and the farthest are dropped", "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 100);
  lookup l(target, 999, 4, 3, 8);
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it)
    l.add(*it, 1); // farthest first: each closer one pushes out the farthest
  auto ask = l.next();
  CHECK(peers(ask) == std::vector<peer_id>{sorted[0].peer, sorted[1].peer, sorted[2].peer});
  for (std::size_t i = 0; i < 8; ++i)
    CHECK(l.hop_of(sorted[i].peer) == 1);
  CHECK(l.hop_of(sorted[8].peer) == 0); // dropped
}

TEST_CASE("a stalled request stops counting against alpha and its late answer is taken",
          "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 10);
  lookup l(target, 999, 4, 2, 32);
  add_all(l, sorted);
  REQUIRE(peers(l.next()) == std::vector<peer_id>{sorted[0].peer, sorted[1].peer});
  CHECK(l.next().empty()); // alpha = 2 in flight
  CHECK(l.stalled(sorted[0].peer));
  CHECK_FALSE(l.stalled(sorted[0].peer)); // once
  CHECK_FALSE(l.stalled(sorted[5].peer)); // never asked
  CHECK(l.in_flight() == 1);
  CHECK(l.stalled_count() == 1);
  // The stalled peer no longer holds a slot: the next candidate is asked.
  CHECK(peers(l.next()) == std::vector<peer_id>{sorted[2].peer});
  // Its late answer still counts, with its contacts (hop 2).
  contact far = make_contact(4242);
  CHECK(l.succeeded(sorted[0].peer, {far}));
  CHECK(l.stalled_count() == 0);
  CHECK(l.in_flight() == 2);
  CHECK(l.hop_of(far.peer) == 2);
  CHECK_FALSE(l.succeeded(sorted[0].peer, {})); // duplicate
}

TEST_CASE("stalled peers do not hold a lookup once k others have answered", "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 10);
  lookup l(target, 999, 3, 3, 32);
  add_all(l, sorted);
  REQUIRE(l.next().size() == 3);
  // The closest is slow; the 2nd and 3rd answer, the 4th is asked and answers.
  CHECK(l.stalled(sorted[0].peer));
  CHECK(l.succeeded(sorted[1].peer, {}));
  CHECK(l.succeeded(sorted[2].peer, {}));
  CHECK(peers(l.next()) == std::vector<peer_id>{sorted[3].peer});
  CHECK_FALSE(l.done());
  CHECK(l.succeeded(sorted[3].peer, {}));
  CHECK(l.done()); // without waiting for the stalled closest
  std::vector<peer_id> got;
  for (auto* c : l.closest_succeeded(3))
    got.push_back(c->c.peer);
  CHECK(got == std::vector<peer_id>{sorted[1].peer, sorted[2].peer, sorted[3].peer});
  // It answers after all: it is the closest again and the lookup stays done.
  CHECK(l.succeeded(sorted[0].peer, {}));
  CHECK(l.closest_succeeded(1).front()->c.peer == sorted[0].peer);
  CHECK(l.done());
}

TEST_CASE("with fewer than k answers a stalled peer holds the lookup until it times out",
          "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 2);
  lookup l(target, 999, 20, 3, 160);
  add_all(l, sorted);
  REQUIRE(l.next().size() == 2);
  CHECK(l.stalled(sorted[0].peer));
  CHECK(l.succeeded(sorted[1].peer, {}));
  CHECK(l.next().empty());
  CHECK_FALSE(l.done());    // it may still answer with closer contacts
  l.failed(sorted[0].peer); // its timeout
  CHECK(l.stalled_count() == 0);
  CHECK(l.done());
  CHECK_FALSE(l.succeeded(sorted[0].peer, {})); // a timeout is final
}

TEST_CASE("a stalled candidate may be dropped as too far", "[kad][lookup]") {
  kad_id target = id_of(5000);
  auto sorted = by_distance(target, 20);
  lookup l(target, 999, 2, 1, 2);
  l.add(sorted[19], 1);
  REQUIRE(peers(l.next()) == std::vector<peer_id>{sorted[19].peer});
  CHECK(l.stalled(sorted[19].peer));
  l.add(sorted[0], 1);
  l.add(sorted[1], 1); // full (2): the stalled farthest makes room
  CHECK(l.stalled_count() == 0);
  CHECK_FALSE(l.succeeded(sorted[19].peer, {}));
}
