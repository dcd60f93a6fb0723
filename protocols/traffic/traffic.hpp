#pragma once
// Synthetic load: every node keeps `in_flight` small frames moving between
// random peers. Used by the simulator benchmark (frames per second through the
// actor path) and by scenarios that need background traffic.
#include "protocols/common/role.hpp"

#include <memory>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t traffic = 250; // synthetic load (benchmarks, tests)
} // namespace ports
} // namespace peerlab

namespace peerlab::traffic {

struct config {
  std::uint64_t peers = 0;     // frames go to node ids in [0, peers)
  std::uint32_t in_flight = 1; // frames each node starts
  std::uint32_t size = 64;     // bytes per frame (at least the 10-byte header)
  std::uint32_t ttl = 0;       // hops before a frame stops; 0 = never
};

/// Frame: [port][type=1][hops u32][frame length u32][padding up to size].
bytes encode_hop(std::uint32_t hops, std::uint32_t size);
bool decode_hop(byte_view frame, std::uint32_t& hops);

std::shared_ptr<role> make_traffic(const config& c);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::traffic
