#include "sim_helpers.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

TEST_CASE("churn: nodes crash, leave and restart, and interrupted downloads are counted",
          "[sim][churn]") {
  auto j = test::small_transfer(4, 20, false);
  j["churn"] = {{{"group", "leechers"},
                 {"session", {{"dist", "exponential"}, {"mean", "40s"}}},
                 {"downtime", {{"dist", "exponential"}, {"mean", "10s"}}},
                 {"crash", 0.5}}};
  auto r = test::run(j);
  CHECK(r.stats.crashes > 0);
  CHECK(r.stats.leaves > 0);
  CHECK(r.stats.node_starts > 25); // restarts on top of the 25 first starts
  CHECK(r.downloads.corrupt_accepted == 0);
  CHECK(r.downloads.completed > 0);
  CHECK(test::all_passed(r.verdicts));
}

TEST_CASE("churn with weibull and pareto sessions is deterministic", "[sim][churn]") {
  for (auto* dist : {"weibull", "pareto"}) {
    INFO(dist);
    auto j = test::small_transfer(4, 10, false);
    nlohmann::json session =
      std::string(dist) == "weibull"
        ? nlohmann::json{{"dist", "weibull"}, {"shape", 0.6}, {"scale", "60s"}}
        : nlohmann::json{{"dist", "pareto"}, {"shape", 1.5}, {"min", "20s"}};
    j["churn"] = {{{"group", "leechers"}, {"session", session}, {"crash", 1.0}}};
    auto a = test::run(j), b = test::run(j);
    CHECK(a.fingerprint == b.fingerprint);
    CHECK(a.stats.crashes > 0);
  }
}

TEST_CASE("a crashed provider keeps its files and serves again after restart", "[sim][churn]") {
  auto j = test::small_transfer(2, 6, false);
  j["churn"] = {{{"group", "seeders"},
                 {"session", {{"dist", "constant"}, {"value", "20s"}}},
                 {"downtime", {{"dist", "constant"}, {"value", "5s"}}},
                 {"crash", 1.0}}};
  j["workload"][0]["replicas"] = 2;
  auto r = test::run(j);
  CHECK(r.stats.crashes >= 10);
  CHECK(r.downloads.completed > 0);
}
