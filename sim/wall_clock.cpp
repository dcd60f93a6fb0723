#include "sim/wall_clock.hpp"

#include <chrono>

namespace peerlab::sim {

std::int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace peerlab::sim
