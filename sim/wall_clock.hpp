#pragma once
// The one place in sim/ that reads a wall clock: the progress line on stderr
// measures how fast the simulation runs. Nothing read here may reach the run
// (events, fingerprint, results); tests/scripts/determinism_rules.sh exempts
// only this file.
#include <cstdint>

namespace peerlab::sim {

/// Monotonic wall time in nanoseconds, for progress and speed figures only.
std::int64_t wall_clock_ns();

} // namespace peerlab::sim
