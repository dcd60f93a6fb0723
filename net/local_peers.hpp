#pragma once
// Peers that live inside the node's process: each browser on the CDN site's
// WebSocket (net/ws_bridge.hpp) is a peer of the node's `cdn_signal` role
// with an id of its own. The endpoint that accepts them owns their ids; the
// runtime routes frames a role sends to such an id to that endpoint instead
// of a TLS connection.
//
// The id range: the top 32 bits all set, a counter in the low 32 bits.
// Network peers' ids are the first 8 bytes of a SHA-256 (a key's or, for
// plaintext nodes, a name's: net/identity.hpp), so any range can be hit by
// one; this one is hit with probability 2^-32 per key. The runtime closes a
// connection whose hello names an id in the range (a plaintext peer could
// claim one to pose as a browser) and a node whose own id lies in it does
// not start (its error says to make a new key).
#include "protocols/common/types.hpp"

#include <functional>
#include <string>

namespace peerlab::net {

namespace local_peers {
constexpr peer_id tag = 0xFFFF'FFFF'0000'0000ull;
constexpr bool contains(peer_id p) { return (p & tag) == tag; }
/// Local peers open at once over all endpoints of a node.
constexpr std::size_t open_max = 1u << 20;
} // namespace local_peers

/// Where frames for one local peer go: called on the sending role's thread,
/// so it must only hand the frame over (post it), never block.
using local_sink = std::function<void(bytes frame)>;

/// What an endpoint of local peers needs of the node (live_runtime).
class local_peer_host {
public:
  virtual ~local_peer_host() = default;
  /// A fresh id (local_peers range) for a peer that talks to the role on
  /// `port`: that role gets peer_up(id, address), and every frame a role
  /// sends to the id goes to `sink`. 0 if the node runs no role on `port`,
  /// is stopping, or has open_max local peers.
  virtual peer_id open_local_peer(port_t port, const std::string& address, local_sink sink) = 0;
  /// A frame from local peer `from` to its role, in order; byte 0 must be
  /// the peer's port (anything else is dropped and counted).
  virtual void local_frame(peer_id from, bytes frame) = 0;
  /// No frame reaches the peer's sink after this returns; frames still sent
  /// to the id are dropped and counted (net.local_frames_unroutable).
  virtual void close_local_peer(peer_id id) = 0;
};

} // namespace peerlab::net
