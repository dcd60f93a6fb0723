#pragma once
// Shared by the subcommands that read scenarios and write results.
#include "sim/scenario.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace peerlab::app {

class args;

/// Loads a scenario; a config_error names the file.
sim::scenario load_scenario_or_fail(const std::string& path);
/// The source tree's commit (short), or "unknown".
std::string git_commit();
/// This peerlab binary's path (the testbed runs its nodes with it).
std::string self_exe();
/// The --seed option if given: a non-negative integer; usage_error otherwise.
std::optional<std::uint64_t> seed_option(const args& a);
/// A --time-scale value: a number in (0, 1000]; usage_error otherwise.
double parse_time_scale(const std::string& text);

} // namespace peerlab::app
