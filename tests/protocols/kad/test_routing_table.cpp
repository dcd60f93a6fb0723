#include "protocols/kad/routing_table.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace peerlab;
using namespace peerlab::kad;

namespace {

constexpr time_us ping_timeout = 10 * us_per_s;
const peer_id self_peer = 1000;

// The first `n` peer ids (from 1) whose id falls in bucket `cpl` of self.
std::vector<contact> in_bucket(int cpl, std::size_t n) {
  std::vector<contact> out;
  for (peer_id p = 1; out.size() < n; ++p)
    if (p != self_peer && common_prefix_len(id_of(self_peer), id_of(p)) == cpl)
      out.push_back(make_contact(p));
  return out;
}

std::vector<peer_id> peers_of(const std::vector<routing_table::entry>& es) {
  std::vector<peer_id> out;
  for (auto& e : es)
    out.push_back(e.c.peer);
  return out;
}

} // namespace

TEST_CASE("contacts are placed in the bucket of their common prefix length", "[kad][table]") {
  routing_table t(id_of(self_peer), 20, 5);
  for (peer_id p = 1; p <= 300; ++p)
    t.observe(make_contact(p), 0, ping_timeout);
  std::size_t total = 0;
  for (int cpl = 0; cpl < 256; ++cpl) {
    for (auto& e : t.at(cpl).entries)
      CHECK(common_prefix_len(id_of(self_peer), e.c.id) == cpl);
    CHECK(t.at(cpl).entries.size() <= 20);
    total += t.at(cpl).entries.size();
  }
  CHECK(total == t.size());
  // Half of random ids land in bucket 0, a quarter in bucket 1: both overflow.
  CHECK(t.at(0).entries.size() == 20);
  CHECK(t.at(1).entries.size() == 20);
  CHECK(t.at(0).replacements.size() == 5);
}

TEST_CASE("self is never stored and closest() matches brute force", "[kad][table]") {
  routing_table t(id_of(self_peer), 20, 5);
  CHECK(t.observe(make_contact(self_peer), 0, ping_timeout).what ==
        routing_table::outcome::ignored_self);
  for (peer_id p = 1; p <= 120; ++p)
    t.observe(make_contact(p), 0, ping_timeout);
  auto stored = t.all();
  CHECK(stored.size() == t.size());
  for (peer_id probe = 5000; probe < 5020; ++probe) {
    kad_id target = id_of(probe);
    auto got = t.closest(target, 20, stored[3].peer);
    auto want = stored;
    want.erase(want.begin() + 3);
    std::sort(want.begin(), want.end(),
              [&](const contact& a, const contact& b) { return closer(target, a.id, b.id); });
    want.resize(20);
    REQUIRE(got == want);
  }
}

TEST_CASE("a seen entry moves to most recently seen and its address is updated", "[kad][table]") {
  routing_table t(id_of(self_peer), 4, 2);
  auto c = in_bucket(0, 3);
  for (auto& x : c)
    CHECK(t.observe(x, 1, ping_timeout).what == routing_table::outcome::added);
  contact moved = c[0];
  moved.address = "10.1.1.1:9";
  CHECK(t.observe(moved, 2, ping_timeout).what == routing_table::outcome::updated);
  auto& b = t.at(0);
  CHECK(peers_of(b.entries) == std::vector<peer_id>{c[1].peer, c[2].peer, c[0].peer});
  CHECK(b.entries.back().c.address == "10.1.1.1:9");
  CHECK(b.entries.back().last_seen == 2);
}

TEST_CASE("a full bucket pings its least recently seen entry and keeps it if it answers",
          "[kad][table]") {
  routing_table t(id_of(self_peer), 4, 2);
  auto c = in_bucket(0, 6);
  for (int i = 0; i < 4; ++i)
    t.observe(c[i], i, ping_timeout);
  // Newcomer: cached, and the LRS entry (c[0]) is to be pinged; nothing evicted.
  auto r = t.observe(c[4], 10, ping_timeout);
  CHECK(r.what == routing_table::outcome::cached);
  REQUIRE(r.ping);
  CHECK(r.ping->peer == c[0].peer);
  auto& b = t.at(0);
  CHECK(b.pinging == c[0].peer);
  CHECK(peers_of(b.entries) == std::vector<peer_id>{c[0].peer, c[1].peer, c[2].peer, c[3].peer});
  CHECK(peers_of(b.replacements) == std::vector<peer_id>{c[4].peer});
  // A second newcomer while the check runs: cached, no second ping.
  auto r2 = t.observe(c[5], 11, ping_timeout);
  CHECK(r2.what == routing_table::outcome::cached);
  CHECK_FALSE(r2.ping);
  // The LRS answers: it becomes most recently seen; newcomers stay in the cache.
  CHECK(t.observe(c[0], 12, ping_timeout).what == routing_table::outcome::updated);
  CHECK_FALSE(b.pinging);
  CHECK(peers_of(b.entries) == std::vector<peer_id>{c[1].peer, c[2].peer, c[3].peer, c[0].peer});
  CHECK(peers_of(b.replacements) == std::vector<peer_id>{c[4].peer, c[5].peer});
  CHECK(t.size() == 4);
}

TEST_CASE("the LRS entry is evicted only after its ping fails", "[kad][table]") {
  routing_table t(id_of(self_peer), 4, 2);
  auto c = in_bucket(0, 6);
  for (int i = 0; i < 4; ++i)
    t.observe(c[i], i, ping_timeout);
  t.observe(c[4], 10, ping_timeout);
  t.observe(c[5], 11, ping_timeout);
  // Nothing but the failed ping evicts c[0] ...
  CHECK(t.contains(c[0].peer, c[0].id));
  CHECK(t.failed(c[0].peer, c[0].id));
  // ... and the most recently seen replacement (c[5]) takes its place, sorted
  // among the entries by when we last heard from it.
  auto& b = t.at(0);
  CHECK_FALSE(t.contains(c[0].peer, c[0].id));
  CHECK(peers_of(b.entries) == std::vector<peer_id>{c[1].peer, c[2].peer, c[3].peer, c[5].peer});
  CHECK(peers_of(b.replacements) == std::vector<peer_id>{c[4].peer});
  CHECK_FALSE(b.pinging);
  CHECK(t.size() == 4);
  // Another failure with the cache not empty promotes the last replacement.
  CHECK(t.failed(c[2].peer, c[2].id));
  CHECK(peers_of(b.entries) == std::vector<peer_id>{c[1].peer, c[3].peer, c[4].peer, c[5].peer});
  CHECK(b.replacements.empty());
  // With an empty cache a failure just shrinks the bucket.
  CHECK(t.failed(c[1].peer, c[1].id));
  CHECK(t.size() == 3);
  CHECK_FALSE(t.failed(c[1].peer, c[1].id)); // already gone
}

TEST_CASE("the replacement cache is bounded and drops failing replacements", "[kad][table]") {
  routing_table t(id_of(self_peer), 2, 3);
  auto c = in_bucket(0, 8);
  for (int i = 0; i < 8; ++i)
    t.observe(c[i], i, ping_timeout);
  auto& b = t.at(0);
  CHECK(peers_of(b.entries) == std::vector<peer_id>{c[0].peer, c[1].peer});
  // Oldest replacements dropped first.
  CHECK(peers_of(b.replacements) == std::vector<peer_id>{c[5].peer, c[6].peer, c[7].peer});
  // A replacement seen again moves to the most recent end.
  t.observe(c[5], 20, ping_timeout);
  CHECK(peers_of(b.replacements) == std::vector<peer_id>{c[6].peer, c[7].peer, c[5].peer});
  // A replacement that fails a request is forgotten, nothing is evicted.
  CHECK_FALSE(t.failed(c[7].peer, c[7].id));
  CHECK(peers_of(b.replacements) == std::vector<peer_id>{c[6].peer, c[5].peer});
  CHECK(t.size() == 2);
}

TEST_CASE("a liveness check that never concluded is restarted", "[kad][table]") {
  routing_table t(id_of(self_peer), 2, 3);
  auto c = in_bucket(0, 4);
  t.observe(c[0], 0, ping_timeout);
  t.observe(c[1], 1, ping_timeout);
  CHECK(t.observe(c[2], 2, ping_timeout).ping);
  CHECK_FALSE(t.observe(c[3], 3, ping_timeout).ping);
  // Long after the check should have ended (twice the timeout), a new one starts.
  auto r = t.observe(c[3], 3 + 2 * ping_timeout + 1, ping_timeout);
  REQUIRE(r.ping);
  CHECK(r.ping->peer == c[0].peer);
}

TEST_CASE("max_cpl and touch follow the buckets", "[kad][table]") {
  routing_table t(id_of(self_peer), 20, 5);
  CHECK(t.max_cpl() == -1);
  auto deep = in_bucket(6, 1);
  t.observe(in_bucket(0, 1)[0], 0, ping_timeout);
  t.observe(deep[0], 0, ping_timeout);
  CHECK(t.max_cpl() == 6);
  CHECK(t.at(6).last_refreshed == routing_table::never);
  t.touch(deep[0].id, 77);
  CHECK(t.at(6).last_refreshed == 77);
  t.touch(id_of(self_peer), 78); // self has no bucket
  CHECK(t.at(6).last_refreshed == 77);
}
