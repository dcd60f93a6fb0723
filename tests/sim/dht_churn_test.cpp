// The dht driver under churn: lookups end when peers depart, and records
// whose provider stays online stay findable.
#include "dht_test_scenarios.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

TEST_CASE("dht: every lookup ends while peers depart", "[sim][dht][churn]") {
  // The peers leave for good (mean session 4 min); the bootstrap nodes stay
  // and keep looking up, so their lookups meet departed peers and time out.
  auto j = test::small_dht(150, 5, 400);
  j["duration"] = "20m";
  j["churn"] = {{{"group", "peers"},
                 {"session", {{"dist", "exponential"}, {"mean", "4m"}}},
                 {"crash", 1.0},
                 {"restart", false}}};
  j["workload"][0]["lookups"][1]["group"] = "boot";
  j["workload"][0]["lookups"][0]["stop"] = "15m";
  j["workload"][0]["lookups"][1]["stop"] = "15m";
  j["checkers"] = {{{"check", "dht_lookups_end"}}};
  auto r = test::run_dht(j, [](const sim::simulator& s, const sim::dht::driver& d) {
    CHECK(s.stats().crashes > 100);
    CHECK(s.stats().counter("kad.requests_timed_out") > 100);
    auto& fn = d.find_node(); // from the bootstrap nodes: never interrupted
    CHECK(fn.issued > 300);
    CHECK(fn.interrupted == 0);
    CHECK(fn.ended == fn.issued);
    auto& fp = d.find_providers(); // from departing peers
    CHECK(fp.issued > 0);
    CHECK(fp.ended + fp.interrupted == fp.issued);
    CHECK(d.open_lookups() == 0);
  });
  CHECK(test::dht_all_passed(r.verdicts));
}

TEST_CASE("dht: records whose provider stays online stay findable under churn",
          "[sim][dht][churn]") {
  auto j = test::small_dht(300, 40, 0);
  j["duration"] = "40m";
  j["churn"] = {{{"group", "peers"},
                 {"session", {{"dist", "weibull"}, {"shape", 0.6}, {"scale", "15m"}}},
                 {"downtime", {{"dist", "exponential"}, {"mean", "5m"}}},
                 {"crash", 0.7}}};
  auto& lookups = j["workload"][0]["lookups"];
  lookups.erase(1);
  lookups[0].erase("count");
  lookups[0]["interval"]["mean"] = "500ms";
  j["checkers"] = {{{"check", "dht_lookups_end"}}, {{"check", "dht_findable"}, {"min", 0.99}}};
  auto r = test::run_dht(j, [](const sim::simulator& s, const sim::dht::driver& d) {
    CHECK(s.stats().crashes + s.stats().leaves > 200);
    // Providers that came back announced their keys again.
    CHECK(d.puts_done() > 40);
    auto& on = d.online_records();
    CHECK(on.ended > 1000);
    CHECK(double(on.succeeded) >= 0.99 * double(on.ended));
    CHECK(d.find_providers().ended > on.ended); // some lookups were for records whose provider left
  });
  CHECK(test::dht_all_passed(r.verdicts));
}
