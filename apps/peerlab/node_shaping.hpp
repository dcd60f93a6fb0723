#pragma once
// The node config's "shaping" section made real: the scenario file loaded by
// the usual loader, a sim::live_shaper for this node, and the scenario clock
// (Unix time since start_unix_us, divided by time_scale) in live_options.
#include "net/live_runtime.hpp"
#include "net/node_config.hpp"

#include <string>

namespace peerlab::net {

/// Installs the shaper in `o`. Returns an error naming the file or the key
/// (the node then exits with 2), or an empty string.
std::string install_shaping(const shaping_config& s, peer_id self, live_options& o);

/// Scenario time at Unix time `unix_us` (µs): (unix_us - start) / scale.
time_us scenario_time(std::int64_t unix_us, std::int64_t start_unix_us, double time_scale);

} // namespace peerlab::net
