#pragma once
// Checkers: invariants evaluated on what a run measured. A failing checker
// makes `peerlab run` exit non-zero and print the command that reproduces it.
#include "sim/simulator.hpp"

#include <string>
#include <vector>

namespace peerlab::sim {

struct verdict {
  std::string check;
  bool passed = false;
  std::string detail;
};

std::vector<verdict> evaluate_checkers(const run_view& sim);

} // namespace peerlab::sim
