#pragma once
// The key outcomes of a run, per protocol family, read from its summary JSON
// (sim::summarize, runs.summary of the results file). A pure function of that
// document: `peerlab sweep` averages these per configuration and `peerlab
// parity` compares them between a simulated and a live run. Names are stable
// and listed in docs/results.md "Key outcomes".
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace peerlab::sim {

struct outcome {
  std::string family; // filexfer, market, proxy, dht, fileset, droplog, cdn
  std::string name;   // snake_case, unique within its family
  double value = 0;
};

/// The key outcomes of every family whose section exists in `summary`, in a
/// fixed order (families as above, names as documented). A section whose
/// figures are missing or not numbers gives 0 for those figures rather than
/// throwing: summaries written by older builds stay readable.
std::vector<outcome> key_outcomes(const nlohmann::json& summary);

} // namespace peerlab::sim
