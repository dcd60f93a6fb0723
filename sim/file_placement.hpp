#pragma once
// Where the scenario's files start: one draw per file from the `files` seed
// stream, the same in the simulator and on the live testbed, so both worlds
// serve the same bytes from the same nodes.
#include "sim/scenario.hpp"
#include "sim/synthetic_content.hpp"

#include <cstdint>
#include <vector>

namespace peerlab::sim {

/// Adds every file of the scenario's file sets to `catalog`, with its
/// holders. `group_first[g]` is the first node of group g (and
/// group_first[groups] the node count).
void place_files(const scenario& s, std::uint64_t run_seed,
                 const std::vector<std::uint32_t>& group_first, file_catalog& catalog);

} // namespace peerlab::sim
