#pragma once
// The configurations of a sweep: `--param /json/pointer=v1,v2,...` axes over
// any field of a scenario file, crossed into a grid (docs/cli.md "peerlab
// sweep"). Each configuration is the scenario file with its settings applied,
// validated like a file of its own.
#include "sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace peerlab::sim {

struct param_axis {
  std::string pointer; // RFC 6901 JSON pointer, e.g. /network/faults/loss
  std::vector<nlohmann::json> values;
};

/// Parses "POINTER=V1,V2,...". Values are split at commas outside brackets,
/// braces and strings; each is read as JSON, else taken as a string.
/// Throws config_error naming the text.
param_axis parse_param(const std::string& spec);

struct configuration {
  std::vector<std::pair<std::string, nlohmann::json>> settings; // pointer, value
  std::string text; // the scenario file with the settings applied
  scenario spec;
  /// "/network/faults/loss=0.01 /groups/2/count=10", or "as written".
  std::string label() const;
};

/// Every configuration of the grid, the first axis varying slowest; one
/// configuration (the file as written) when there are no axes. Throws
/// config_error naming the pointer when it does not exist in the file, is
/// given twice, or a value makes the scenario invalid.
std::vector<configuration> sweep_grid(const std::string& file_text, const std::string& origin,
                                      const std::vector<param_axis>& axes);

} // namespace peerlab::sim
