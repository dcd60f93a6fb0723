#pragma once
// What run, sweep and check share: one simulated run appended to a results
// file, seed and engine
// options, the reproduce line (apps/peerlab/sim_run.cpp).
#include "apps/peerlab/args.hpp"

#include "sim/checkers.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::sim {
class results_db;
}

namespace peerlab::app {

std::uint64_t parse_seed(const std::string& s, const char* option = "--seed");
sim::engine parse_engine(const args& a, const char* key = "engine");
double seconds_since(std::chrono::steady_clock::time_point t0);
std::string repro_command(const std::string& path, std::uint64_t seed, sim::engine eng);
/// The livelock watchdog's bound (0 = the default).
std::uint64_t watchdog_bound(const args& a);
// Inline, so that it is initialized before the command_help tables that copy
// it in other files (an extern constant is not).
inline const option_help watchdog_option{
  "max-events-per-instant", "N", "stop a run after N events at one virtual time (a livelock)"};
std::string failure_line(const sim::simulator& sim, const std::string& what,
                         const std::string& path, sim::engine eng);

// One run. A runtime failure (invariant, watchdog, a role threw) ends the run
// where it happened; it is still appended to the results file.
struct one_run {
  bool passed = true;
  std::string failure; // non-empty: the runtime failure
  nlohmann::json summary;
  std::string fingerprint;
  std::vector<sim::verdict> verdicts;
};

/// Runs `s` once (seed override optional) and appends it to `db` (if any).
/// `print`: the parameters and summary on stdout. `repro`: the reproduce
/// command printed with a runtime failure (default: `peerlab run PATH --seed`).
one_run run_once(const sim::scenario& s, const std::string& path, std::optional<std::uint64_t> seed,
                 sim::engine eng, sim::results_db* db, bool print, bool progress,
                 std::uint64_t max_events_per_instant, const std::string& repro = {});

} // namespace peerlab::app
