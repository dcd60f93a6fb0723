#include "protocols/kad/rtt.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::kad;

TEST_CASE("rtt estimates follow RFC 6298 per peer with an aggregate default", "[kad][rtt]") {
  rtt_estimator r(2);
  CHECK_FALSE(r.rto(1));
  r.sample(1, 100'000); // first: srtt 100 ms, rttvar 50 ms
  CHECK(*r.rto(1) == 300'000);
  CHECK(*r.rto(7) == 300'000); // unknown: the aggregate (same single sample)
  r.sample(1, 200'000);        // rttvar = (3*50 + 100)/4 = 62.5; srtt = (700 + 200)/8 = 112.5
  CHECK(*r.rto(1) == 112'500 + 4 * 62'500);
  r.sample(2, 40'000);
  CHECK(*r.rto(2) == 40'000 + 4 * 20'000);
  CHECK(r.size() == 2);
  // Full: a new peer replaces the least recently sampled (1).
  r.sample(2, 40'000);
  r.sample(3, 10'000);
  CHECK(r.size() == 2);
  CHECK_FALSE(r.knows(1));
  CHECK(r.knows(2));
  CHECK(r.knows(3));
  CHECK(*r.rto(3) == 10'000 + 4 * 5'000);
  r.clear();
  CHECK_FALSE(r.rto(3));
  CHECK(r.size() == 0);
}
