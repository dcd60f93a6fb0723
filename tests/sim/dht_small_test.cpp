// The dht driver on a small network without churn or loss: exact outcomes.
#include "dht_test_scenarios.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

TEST_CASE("dht: 100 nodes without churn give exact outcomes", "[sim][dht]") {
  auto j = test::small_dht(97, 10, 50);
  auto r = test::run_dht(j, [](const sim::simulator& s, const sim::dht::driver& d) {
    CHECK(d.puts_done() == 10); // one provider per key, no republish within 15 min
    CHECK(d.puts_failed() == 0);
    CHECK(d.find_providers().issued == 50);
    CHECK(d.find_providers().ended == 50);
    CHECK(d.find_providers().succeeded == 50);
    CHECK(d.find_providers().interrupted == 0);
    CHECK(d.find_node().issued == 50);
    CHECK(d.find_node().ended == 50);
    CHECK(d.find_node().succeeded == 50);
    CHECK(d.online_records().ended == 50); // no churn: every provider stayed up
    CHECK(d.open_lookups() == 0);
    CHECK(d.find_node().hops.quantile(1.0) <= 3);
    // Every sample after the provides: each of the 10 records is held by all
    // k = 20 closest nodes (100 nodes, exact lookups).
    REQUIRE(d.replication().size() ==
            6); // at 4, 6, ..., 14 min (none at 2 min: nothing stored yet)
    for (auto& rs : d.replication()) {
      CHECK(rs.records == 10);
      CHECK(rs.min == 20);
      CHECK(rs.max == 20);
    }
    CHECK(s.stats().counter("dht.bootstraps") == 100);
    CHECK(s.stats().counter("frames_rejected") == 0);
  });
  CHECK(test::dht_all_passed(r.verdicts));
  CHECK(r.summary["find_providers"]["success"] == 1.0);
}

TEST_CASE("dht: the same run twice and with the direct engine gives one fingerprint",
          "[sim][dht]") {
  auto j = test::small_dht(60, 5, 20);
  auto a = test::run_dht(j), b = test::run_dht(j);
  auto c = test::run_dht(j, {}, sim::engine::direct);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.fingerprint == c.fingerprint);
  CHECK(a.summary == c.summary);
}

TEST_CASE("dht: scenario errors name the path", "[sim][dht]") {
  auto bad = [](auto edit) {
    auto j = test::small_dht(10, 2, 2);
    edit(j["workload"][0]);
    try {
      sim::parse_scenario(j.dump(), "test");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(bad([](auto& w) { w["bootstrap"]["group"] = "nobody"; }),
             Catch::Contains("workload[0].bootstrap.group"));
  CHECK_THAT(bad([](auto& w) { w["lookups"][1]["verb"] = "find_value"; }),
             Catch::Contains("workload[0].lookups[1].verb"));
  CHECK_THAT(bad([](auto& w) { w["provide"]["files"] = "media"; }),
             Catch::Contains("either \"keys\""));
  CHECK_THAT(bad([](auto& w) { w["replication"]["every"] = "1m"; }),
             Catch::Contains("workload[0].replication"));
  CHECK_THAT(bad([](auto& w) { w.erase("provide"); }), Catch::Contains("need a \"provide\""));
  // A checker field of the driver is checked when the run is set up.
  auto j = test::small_dht(10, 2, 2);
  j["checkers"][3]["max"] = "four";
  CHECK_THROWS_WITH(test::run_dht(j), Catch::Contains("checkers[3].max"));
}

TEST_CASE("dht: the latency checker holds a quantile of lookup latency under a bound",
          "[sim][dht]") {
  // Links of 10-60 ms one way: no lookup answers within 1 ms, every one within 10 s.
  auto j = test::small_dht(30, 3, 10);
  j["checkers"] = {
    {{"check", "dht_latency"}, {"verb", "find_node"}, {"max", "10s"}},
    {{"check", "dht_latency"}, {"verb", "find_providers"}, {"quantile", 0.9}, {"max", "1ms"}},
    {{"check", "dht_latency"}, {"max", "1ms"}}};
  auto r = test::run_dht(j);
  REQUIRE(r.verdicts.size() == 3);
  CHECK(r.verdicts[0].passed);
  CHECK_THAT(r.verdicts[0].detail, Catch::Contains("latency at quantile 0.5 of 10 find_node"));
  CHECK_THAT(r.verdicts[0].detail, Catch::Contains("(max 10.00s)"));
  CHECK_FALSE(r.verdicts[1].passed);
  CHECK_THAT(r.verdicts[1].detail, Catch::Contains("quantile 0.9 of 10 find_providers"));
  CHECK_FALSE(r.verdicts[2].passed); // both verbs, the median
  CHECK_THAT(r.verdicts[2].detail, Catch::Contains("of 20 lookups"));

  auto refused = [](nlohmann::json checker) {
    auto s = test::small_dht(10, 2, 2);
    s["checkers"] = {checker};
    try {
      test::run_dht(s);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(refused({{"check", "dht_latency"}}), Catch::Contains("dht_latency needs \"max\""));
  CHECK_THAT(refused({{"check", "dht_latency"}, {"max", "0s"}}),
             Catch::Contains("checkers[0].max"));
  CHECK_THAT(refused({{"check", "dht_latency"}, {"max", "soon"}}),
             Catch::Contains("checkers[0].max"));
  CHECK_THAT(refused({{"check", "dht_latency"}, {"max", "1s"}, {"quantile", 2}}),
             Catch::Contains("checkers[0].quantile"));
  CHECK_THAT(refused({{"check", "dht_latency"}, {"max", "1s"}, {"verb", "put"}}),
             Catch::Contains("checkers[0].verb"));
  CHECK_THAT(refused({{"check", "dht_latency"}, {"max", "1s"}, {"min", 1}}),
             Catch::Contains("min"));
}

TEST_CASE("dht: the large scenarios parse", "[sim][dht]") {
  for (auto* name : {"dht_churn_10k.json", "dht_100k.json"}) {
    INFO(name);
    auto s = sim::load_scenario(std::string(PEERLAB_SOURCE_DIR) + "/scenarios/large/" + name);
    CHECK(s.node_count() >= 10000);
    CHECK(s.driver_items.size() == 1);
  }
}
