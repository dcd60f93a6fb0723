#pragma once
// Small scenarios built in code for the simulator tests.
#include "sim/checkers.hpp"
#include "sim/drivers/filexfer_driver.hpp"
#include "sim/simulator.hpp"

#include <nlohmann/json.hpp>

namespace peerlab::test {

/// A small file-transfer scenario: `providers` honest providers, one
/// corrupting provider (if `corrupting`), `leechers` downloaders.
inline nlohmann::json small_transfer(int providers = 4, int leechers = 12, bool corrupting = true) {
  nlohmann::json groups = nlohmann::json::array();
  groups.push_back({{"name", "seeders"}, {"count", providers}, {"roles", {"provider"}}});
  nlohmann::json holders = {"seeders"};
  if (corrupting) {
    groups.push_back(
      {{"name", "bad"}, {"count", 1}, {"roles", {"provider"}}, {"adversary", "corrupt_content"}});
    holders.push_back("bad");
  }
  groups.push_back(
    {{"name", "leechers"},
     {"count", leechers},
     {"roles", {{{"role", "downloader"}, {"window", "128KiB"}, {"request_timeout", "3s"}}}}});
  return {{"name", "small"},
          {"seed", 5},
          {"duration", "5m"},
          {"groups", groups},
          {"network",
           {{"latency", {{"model", "lognormal"}, {"median", "30ms"}, {"sigma", 0.4}}},
            {"bandwidth", {{"up", "20Mbit/s"}, {"down", "50Mbit/s"}}},
            {"faults", {{"loss", 0.01}, {"truncate", 0.01}, {"corrupt", 0.002}}}}},
          {"workload",
           {{{"kind", "files"},
             {"name", "f"},
             {"count", 6},
             {"size", "512KiB"},
             {"providers", holders},
             {"replicas", 3}},
            {{"kind", "downloads"},
             {"group", "leechers"},
             {"files", "f"},
             {"interval", {{"dist", "exponential"}, {"mean", "20s"}}},
             {"start", "2s"},
             {"stop", "3m"},
             {"max_per_node", 2}}}},
          {"checkers",
           {{{"check", "no_corrupt_accepted"}},
            {{"check", "downloads_end"}},
            {{"check", "download_success"}, {"min", 0.9}}}}};
}

inline sim::scenario parse(const nlohmann::json& j) {
  return sim::parse_scenario(j.dump(), "test");
}

struct outcome {
  std::string fingerprint;
  std::uint64_t events;
  sim::run_stats stats;
  sim::download_outcomes downloads;
  std::vector<sim::verdict> verdicts;
};

inline outcome run(const nlohmann::json& j, sim::engine eng = sim::engine::actors,
                   std::uint64_t seed = 0) {
  sim::sim_options o;
  o.eng = eng;
  if (seed) {
    o.has_seed_override = true;
    o.seed_override = seed;
  }
  sim::simulator s(parse(j), o);
  s.run();
  return {s.chain().hex(), s.chain().events(), s.stats(), sim::filexfer_sim::outcomes_of(s),
          sim::evaluate_checkers(s)};
}

inline bool all_passed(const std::vector<sim::verdict>& v) {
  for (auto& x : v)
    if (!x.passed)
      return false;
  return !v.empty();
}

} // namespace peerlab::test
