#pragma once
// Small DHT scenarios built in code for the dht driver tests, and a runner
// that keeps the simulator so a test can read the driver's figures.
#include "sim/checkers.hpp"
#include "sim/drivers/dht_driver.hpp"
#include "sim/drivers/filexfer_driver.hpp"
#include "sim/simulator.hpp"

#include <nlohmann/json.hpp>

#include <functional>

namespace peerlab::test {

/// `peers` kad nodes joining within a minute through 3 bootstrap nodes, no
/// loss; `keys` random keys provided at 3 min; lookups from 5 min on.
inline nlohmann::json small_dht(int peers, int keys, int lookups_each) {
  using nlohmann::json;
  return {{"name", "dht_small"},
          {"seed", 3},
          {"duration", "15m"},
          {"groups",
           {{{"name", "boot"}, {"count", 3}, {"roles", {"kad"}}},
            {{"name", "peers"}, {"count", peers}, {"roles", {"kad"}}, {"start_spread", "1m"}}}},
          {"network", {{"latency", {{"model", "uniform"}, {"min", "10ms"}, {"max", "60ms"}}}}},
          {"workload",
           {{{"kind", "dht"},
             {"bootstrap", {{"group", "boot"}, {"peers", 2}}},
             {"provide", {{"group", "peers"}, {"keys", keys}, {"at", "3m"}, {"spread", "30s"}}},
             {"lookups",
              {{{"verb", "find_providers"},
                {"group", "peers"},
                {"start", "5m"},
                {"interval", {{"dist", "exponential"}, {"mean", "1s"}}},
                {"count", lookups_each}},
               {{"verb", "find_node"},
                {"group", "peers"},
                {"start", "5m"},
                {"interval", {{"dist", "exponential"}, {"mean", "1s"}}},
                {"count", lookups_each}}}},
             {"replication", {{"interval", "2m"}, {"records", keys}}}}}},
          {"checkers",
           {{{"check", "dht_lookups_end"}},
            {{"check", "dht_lookup_success"}, {"min", 1.0}},
            {{"check", "dht_findable"}, {"min", 1.0}},
            {{"check", "dht_hops"}, {"max", 4}},
            {{"check", "dht_replication"}, {"min", 20}}}}};
}

struct dht_outcome {
  std::string fingerprint;
  std::vector<sim::verdict> verdicts;
  nlohmann::json summary; // the driver's part ("dht")
};

/// Runs `j`; `inspect` sees the finished simulator and the dht driver.
inline dht_outcome
run_dht(const nlohmann::json& j,
        const std::function<void(const sim::simulator&, const sim::dht::driver&)>& inspect = {},
        sim::engine eng = sim::engine::actors) {
  sim::sim_options o;
  o.eng = eng;
  sim::simulator s(sim::parse_scenario(j.dump(), "test"), o);
  s.run();
  const sim::dht::driver* d = nullptr;
  for (std::size_t i = 0; i < s.driver_count() && !d; ++i)
    d = dynamic_cast<const sim::dht::driver*>(&s.driver(i));
  if (!d)
    throw std::logic_error("the scenario has no dht driver");
  if (inspect)
    inspect(s, *d);
  nlohmann::json summary;
  for (std::size_t i = 0; i < s.driver_count(); ++i)
    s.driver(i).summarize(s.driver_api(i), summary);
  return {s.chain().hex(), sim::evaluate_checkers(s), summary["dht"]};
}

inline bool dht_all_passed(const std::vector<sim::verdict>& v) {
  for (auto& x : v)
    if (!x.passed)
      return false;
  return !v.empty();
}

} // namespace peerlab::test
