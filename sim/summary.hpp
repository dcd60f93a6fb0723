#pragma once
// The run summary: what a user came for, as JSON (stored in the results file)
// and as text (printed by peerlab run).
#include "sim/checkers.hpp"
#include "sim/simulator.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace peerlab::sim {

nlohmann::json summarize(const run_view& sim, double wall_seconds);
std::string render_summary(const run_view& sim, const nlohmann::json& summary,
                           const std::vector<verdict>& verdicts);

} // namespace peerlab::sim
