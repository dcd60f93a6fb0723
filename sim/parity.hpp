#pragma once
// Sim/live parity: the key outcomes (sim/outcomes.hpp) of a simulated run and
// of a live testbed run of the same scenario and seed, compared within
// tolerances. Pure: `peerlab parity` runs both worlds and prints the rows.
//
// Tolerance: two values agree when |live - sim| <= abs + rel * max(|sim|, |live|).
// Defaults by kind of outcome (docs/testbed.md "Parity"); a scenario's
// optional "parity" section overrides them per outcome:
//   "parity": {"tolerances": {"dht.find_node_hops_p50": {"abs": 1, "rel": 0}},
//              "ignore": ["dht.records_stored"]}
#include "sim/outcomes.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace peerlab::sim {

struct tolerance {
  double abs = 0;
  double rel = 0;
};

struct parity_spec {
  std::map<std::string, tolerance> tolerances; // "family.name" -> tolerance
  std::set<std::string> ignore;                // "family.name": shown, not judged
};

/// Validates a scenario's "parity" section; throws config_error naming the path.
parity_spec parse_parity(const nlohmann::json& section, const std::string& path);

/// The default tolerance of an outcome, by its name (counts, shares, bytes,
/// hops, times), and whether it is judged at all by default (figures a live
/// run cannot measure are not).
tolerance default_tolerance(const std::string& family, const std::string& name);
bool judged_by_default(const std::string& family, const std::string& name);

struct parity_row {
  std::string family, name;
  std::optional<double> sim, live; // absent: the run had no such outcome
  tolerance tol;
  bool judged = true;
  bool agree = false;
};

/// One row per outcome of either run, in the simulated run's order (then any
/// the live run alone has).
std::vector<parity_row> compare_outcomes(const std::vector<outcome>& sim,
                                         const std::vector<outcome>& live, const parity_spec& spec);

/// True if every judged row agrees.
bool all_agree(const std::vector<parity_row>& rows);

} // namespace peerlab::sim
