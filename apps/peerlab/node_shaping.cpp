#include "apps/peerlab/node_shaping.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/live_shaper.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace peerlab::net {

time_us scenario_time(std::int64_t unix_us, std::int64_t start_unix_us, double time_scale) {
  // Saturates: a tiny time scale or a start far away must not overflow.
  constexpr double bound = 4e18;
  double t = std::floor(static_cast<double>(unix_us - start_unix_us) / time_scale);
  return static_cast<time_us>(std::clamp(t, -bound, bound));
}

std::string install_shaping(const shaping_config& s, peer_id self, live_options& o) {
  if (s.peers[s.node] != self)
    return "shaping.peers[" + std::to_string(s.node) + "] is peer " +
           std::to_string(s.peers[s.node]) + " but this node is peer " + std::to_string(self) +
           " (peerlab id --config prints it)";
  try {
    auto spec = sim::load_scenario(s.scenario.string());
    if (s.peers.size() > spec.node_count())
      return "shaping.peers: " + std::to_string(s.peers.size()) + " peers, but " +
             s.scenario.string() + " has " + std::to_string(spec.node_count()) + " nodes";
    std::map<peer_id, std::uint32_t> nodes;
    for (std::uint32_t i = 0; i < s.peers.size(); ++i)
      nodes[s.peers[i]] = i;
    auto seed = s.seed.value_or(spec.seed);
    o.shaper = std::make_shared<sim::live_shaper>(std::move(spec), seed, s.node, std::move(nodes));
  } catch (const config_error& e) {
    std::string what = e.what(), file = s.scenario.string();
    if (what.rfind(file, 0) != 0) // the loader names the file only when it cannot read it
      what = file + ": " + what;
    return "shaping.scenario: " + what;
  }
  o.scenario_now = [start = s.start_unix_us, scale = s.time_scale] {
    auto unix_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    return scenario_time(unix_us, start, scale);
  };
  return {};
}

} // namespace peerlab::net
