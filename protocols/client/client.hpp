#pragma once
// The client role (port ports::client): the user-level commands of a node
// (protocols/client/commands.hpp) composed from the roles beside it, through
// the runtime seam: kad for joining, announcing and finding providers, the
// filexfer downloader for the bytes (which pays the provider's bills through
// the payer role when the provider charges). The simulator's workloads, live
// node configs, the HTTP API and the CLI all issue these commands.
//
// Replies (command id of the user's command):
//   joined {seeds; peers}                       join_failed {reason}
//   announced {hash; stored}                    announce_failed {hash, reason}
//   fetch_done {hash; bytes, duration_us, providers, lookups, lookup_*}
//   fetch_failed {hash, reason; duration_us, lookups, lookup_*}
// where lookups counts the DHT lookups the fetch made, and lookup_hops,
// lookup_messages, lookup_us and lookup_found describe the last of them.
// In-memory state only: after a crash the node's user asks again.
#include "protocols/client/commands.hpp"
#include "protocols/common/role.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t client = 11; // user-level commands: join, announce, fetch
} // namespace ports
} // namespace peerlab

namespace peerlab::client {

struct config {
  /// How long a command waits for seeds or providers named by address to be
  /// met, and how long a fetch keeps looking for providers in the DHT.
  time_us wait = 5 * us_per_s;
  /// Pause between DHT lookups that found no provider.
  time_us lookup_retry = us_per_s;
  /// User commands in progress at once; more are refused (503).
  std::size_t max_pending = 1024;
  /// Providers a fetch's DHT lookup asks for (0: all it can find).
  std::size_t want = 0;
};

/// Returns an error naming the first bad field, or nullopt.
std::optional<std::string> validate(const config& c);

std::shared_ptr<role> make_client(const config& c = {});

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::client
