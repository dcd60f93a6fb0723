#pragma once
// The one CAF actor shell every role runs in, in the simulator and live alike.
// It turns CAF messages into role inputs and applies the role's effects
// through the runtime seam. Nothing else.
#include "actors/runtime/runtime.hpp"

#include <caf/all.hpp>

#include <memory>

// Commands and events stay inside one process: CAF never serialises them.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(peerlab::command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(peerlab::event)

namespace peerlab {

using frame_atom = caf::atom_constant<caf::atom("frame")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;

struct role_actor_state {
  runtime* rt = nullptr;
  peer_id self_id = 0;
  std::shared_ptr<role> logic;
  effects fx; // reused between inputs
  static inline const char* name = "peerlab.role";
};

using role_actor_t = caf::stateful_actor<role_actor_state>;

/// Spawned by a runtime for one role of one node. The role's start() runs on
/// the first (start_atom) message, which the runtime sends right after spawn.
caf::behavior role_actor(role_actor_t* self, runtime* rt, peer_id id, std::shared_ptr<role> logic);

} // namespace peerlab
