#pragma once
// Swarm testing: the optional "fuzz" section of a scenario declares which
// checkers are invariants (must hold under any faults) and the ranges fault
// parameters are drawn from. `peerlab fuzz` draws one scenario per run as a
// pure function of (scenario, fuzz seed, run index), runs it, and shrinks the
// failing ones. Everything here works on the scenario's JSON document, so
// every drawn or shrunk scenario is a file `peerlab run` accepts.
#include "sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace peerlab::sim {

struct fuzz_range {
  double lo = 0, hi = 0;
};

struct fuzz_spec {
  /// Check names whose verdicts must hold under any faults; the others are
  /// performance goals that faults may legitimately break.
  std::vector<std::string> invariants;
  /// Global fault rates: each one is switched on with probability 1/2 (swarm
  /// testing: runs differ in which faults exist, not only in how strong they are).
  std::map<std::string, fuzz_range> faults;
  fuzz_range partition_count;  // integer bounds
  fuzz_range partition_length; // microseconds
  std::vector<std::string> partition_groups;
  std::vector<std::string> churn_groups;
  double churn_chance = 0;  // per group
  fuzz_range churn_session; // microseconds (mean of an exponential)
  fuzz_range churn_downtime;
  fuzz_range churn_crash;
  /// group -> adversaries to choose from ("honest" = none).
  std::map<std::string, std::vector<std::string>> adversaries;
};

/// The checks that are invariants when a scenario does not list its own.
const std::vector<std::string>& default_invariants();

/// Validates the "fuzz" section (config_error naming the JSON path) against
/// the scenario parsed so far (groups and checkers).
void validate_fuzz(const nlohmann::json& v, const std::string& path, const scenario& s);

/// The fuzz spec of a parsed scenario: its section, or defaults from its
/// groups, duration and checkers.
fuzz_spec fuzz_spec_of(const scenario& s);

/// Draws run `index` of a fuzz campaign: a new seed and faults applied to the
/// scenario document. A pure function of its arguments.
nlohmann::json draw_scenario(const nlohmann::json& doc, const scenario& s, const fuzz_spec& f,
                             std::uint64_t fuzz_seed, std::uint64_t index);

/// One greedy shrinking step: a smaller variant of the document and what it removed.
struct shrink_candidate {
  nlohmann::json doc;
  std::string what;
};

/// Variants of `doc` with one thing less (a partition, a churn entry, a fault,
/// an adversary, half of a group, half of the duration), simplest first.
std::vector<shrink_candidate> shrink_candidates(const nlohmann::json& doc);

} // namespace peerlab::sim
