#pragma once
// One side of the file-drop channel talking to several peers: one session per
// (self, peer) pair, all sharing the same folders. Incoming files are routed by
// the (unauthenticated) sender and recipient in their header; the session then
// authenticates them. Used by the simulated role and by the live gateways.
#include "protocols/droplog/session.hpp"

#include <map>
#include <memory>
#include <vector>

namespace peerlab::droplog {

class host {
public:
  /// `base` holds every parameter but local/remote, which the host sets per peer.
  /// `store` may be null. Throws like session's constructor.
  host(peer_id self, const std::vector<peer_id>& peers, session_config base, table_store* store);

  peer_id self() const { return self_; }
  session* find(peer_id peer);
  const std::map<peer_id, std::unique_ptr<session>>& sessions() const { return sessions_; }

  struct incoming {
    peer_id from = 0;               // 0 if the file could not be routed
    session::receive_result result; // empty if unrouted
    bool unrouted = false;          // not a droplog header, not for us, or an unknown sender
    std::string unrouted_reason;
  };
  incoming on_file(time_us now, byte_view data);

  struct outgoing {
    peer_id to = 0;
    outgoing_packet packet;
  };
  struct poll_result {
    std::vector<outgoing> files;
    std::vector<std::pair<peer_id, session_event>> events;
    time_us next_wake = never;
  };
  poll_result poll(time_us now);

  std::vector<std::pair<peer_id, deletable_packet>> take_deletable();

  std::uint64_t files_unrouted() const { return unrouted_; }

private:
  peer_id self_;
  std::map<peer_id, std::unique_ptr<session>> sessions_;
  std::uint64_t unrouted_ = 0;
};

} // namespace peerlab::droplog
