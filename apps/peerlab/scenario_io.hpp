#pragma once
// Shared by the subcommands that read scenarios and write results.
#include "sim/scenario.hpp"

#include <string>

namespace peerlab::app {

/// Loads a scenario; a config_error names the file.
sim::scenario load_scenario_or_fail(const std::string& path);
/// The source tree's commit (short), or "unknown".
std::string git_commit();
/// This peerlab binary's path (the testbed runs its nodes with it).
std::string self_exe();
/// A --time-scale value: a number in (0, 1000]; usage_error otherwise.
double parse_time_scale(const std::string& text);

} // namespace peerlab::app
