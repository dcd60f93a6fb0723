#pragma once
// The runtime seam: the only door between an actor and the world. The
// simulator (sim/) and live mode (net/) each implement it once; which one runs
// is chosen in one place at start-up (apps/peerlab). Actors never touch
// sockets, the OS clock or a global RNG.
#include "protocols/common/role.hpp"

#include <exception>

namespace peerlab {

class runtime {
public:
  virtual ~runtime() = default;

  /// Current time: virtual in the simulator, steady time since start live.
  virtual time_us now() const = 0;

  /// Sends a frame (first byte = destination port) from `from` to `to`.
  virtual void send(peer_id from, peer_id to, bytes frame) = 0;

  /// Delivers (timer, token) to the role on `port` of `self` after `delay`.
  virtual void after(peer_id self, port_t port, time_us delay, std::uint64_t token) = 0;

  /// Delivers a command from one role of `self` to its role on `to`. Events
  /// answering it (their command_id names the asking role's port, see
  /// local_command_id) go back to the asking role's reply().
  virtual void local_command(peer_id self, port_t to, command c) = 0;

  /// The node's own seeded generator.
  virtual rng& random(peer_id self) = 0;

  /// Rows and file bytes of the node; both survive a crash.
  virtual kv_store& store(peer_id self) = 0;
  virtual content_store& content(peer_id self) = 0;

  /// Metrics and structured events (traces, checkers, command replies).
  virtual void metric(peer_id self, const effects::metric_sample& m) = 0;
  virtual void emit(peer_id self, port_t port, event&& e) = 0;

  /// Tells the transport how to reach a peer it may not know yet (live mode:
  /// "host:port"; the simulator ignores it).
  virtual void learn_address(peer_id, const std::string&) {}

  /// How other nodes reach `self` (live: "host:port"; empty in the simulator).
  virtual std::string_view self_address(peer_id) const { return {}; }

  /// A role of `self` threw `error` while handling an input. Returns true if
  /// the runtime takes over (the simulator stops the run and reports it);
  /// false leaves CAF's default (print it, end the actor).
  virtual bool failed(peer_id /*self*/, const std::exception_ptr& /*error*/) { return false; }
};

} // namespace peerlab
