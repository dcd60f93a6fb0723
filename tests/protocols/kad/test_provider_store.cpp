#include "protocols/kad/provider_store.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::kad;

namespace {
std::vector<peer_id> peers(const std::vector<contact>& cs) {
  std::vector<peer_id> out;
  for (auto& c : cs)
    out.push_back(c.peer);
  return out;
}
const time_us hour = 3600 * us_per_s;
} // namespace

TEST_CASE("provider records are stored, refreshed and listed newest first", "[kad][store]") {
  provider_store s({3, 10, 100});
  kad_id key = id_of(1);
  using r = provider_store::add_result;
  CHECK(s.add(key, make_contact(10), 48 * hour, 0) == r::added);
  CHECK(s.add(key, make_contact(11), 49 * hour, hour) == r::added);
  CHECK(s.add(key, make_contact(10), 50 * hour, 2 * hour) == r::refreshed);
  CHECK(s.size() == 2);
  CHECK(peers(s.get(key, 2 * hour, 10)) == std::vector<peer_id>{10, 11});
  CHECK(peers(s.get(key, 2 * hour, 1)) == std::vector<peer_id>{10});
  CHECK(s.get(id_of(2), 0, 10).empty());
  s.remove(key, 10);
  CHECK(peers(s.get(key, 2 * hour, 10)) == std::vector<peer_id>{11});
  CHECK(s.count_for_peer(10) == 0);
}

TEST_CASE("provider records expire at their expiry time", "[kad][store]") {
  provider_store s({20, 100, 1000});
  kad_id key = id_of(1);
  s.add(key, make_contact(10), 48 * hour, 0);
  s.add(key, make_contact(11), 60 * hour, 12 * hour);
  CHECK(s.get(key, 48 * hour - 1, 10).size() == 2);
  CHECK(peers(s.get(key, 48 * hour, 10)) == std::vector<peer_id>{11});
  CHECK(s.size() == 1);
  CHECK(s.count_for_peer(10) == 0);
  CHECK(s.expire(60 * hour) == 1);
  CHECK(s.size() == 0);
  CHECK(s.keys() == 0);
}

TEST_CASE("per-key, per-peer and total bounds refuse new records and keep stored ones",
          "[kad][store]") {
  using r = provider_store::add_result;
  SECTION("per key") {
    provider_store s({2, 10, 100});
    kad_id key = id_of(1);
    CHECK(s.add(key, make_contact(10), hour, 0) == r::added);
    CHECK(s.add(key, make_contact(11), hour, 0) == r::added);
    CHECK(s.add(key, make_contact(12), hour, 0) == r::key_full);
    CHECK(s.add(key, make_contact(11), 2 * hour, 0) == r::refreshed); // refresh still works
    CHECK(peers(s.get(key, 0, 10)) == std::vector<peer_id>{11, 10});
  }
  SECTION("per providing peer") {
    provider_store s({20, 3, 100});
    for (peer_id k = 1; k <= 3; ++k)
      CHECK(s.add(id_of(k), make_contact(10), hour, 0) == r::added);
    CHECK(s.add(id_of(4), make_contact(10), hour, 0) == r::peer_full);
    CHECK(s.add(id_of(4), make_contact(11), hour, 0) == r::added); // others unaffected
    CHECK(s.count_for_peer(10) == 3);
    CHECK(s.keys() == 4);
  }
  SECTION("total") {
    provider_store s({20, 100, 4});
    for (peer_id p = 1; p <= 4; ++p)
      CHECK(s.add(id_of(p), make_contact(p), hour, 0) == r::added);
    CHECK(s.add(id_of(9), make_contact(9), hour, 0) == r::store_full);
    CHECK(s.keys() == 4); // no empty key left behind
    // Expired records make room again.
    CHECK(s.add(id_of(9), make_contact(9), 2 * hour, hour) == r::added);
    CHECK(s.size() == 1);
  }
}
