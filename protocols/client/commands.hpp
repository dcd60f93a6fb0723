#pragma once
// What a user asks of a node, as types: join the DHT, announce a file, fetch a
// file. The client role turns each into the protocol steps (kad lookups,
// filexfer downloads; payments follow from the provider's bills), so
// simulator workloads, live node configs, the HTTP API and the CLI issue the
// same commands to the same code.
#include "protocols/common/command.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::client {

/// Joins the DHT through seed nodes named by peer id (`seeds`) or by address
/// (`seed_addresses`: used once the transport has met them, or after the
/// role's `wait`). No seeds: this node is the first. Replies joined.
struct join {
  static constexpr std::string_view verb = "join";
  std::vector<peer_id> seeds;
  std::vector<std::string> seed_addresses;
  void describe(std::string& out) const;
};

/// Announces in the DHT that this node provides `hash` (after joining).
/// Replies announced or announce_failed.
struct announce {
  static constexpr std::string_view verb = "announce";
  digest hash{};
  void describe(std::string& out) const { describe_arg(out, to_hex(hash)); }
};

/// Fetches the file `hash`: from the given providers (by peer id or address),
/// or, with none, from providers found in the DHT (retried until the role's
/// `wait` has passed). Replies fetch_done or fetch_failed.
struct fetch {
  static constexpr std::string_view verb = "fetch";
  digest hash{};
  std::vector<peer_id> providers;
  std::vector<std::string> provider_addresses;
  void describe(std::string& out) const;
};

using command = std::variant<join, announce, fetch>;

/// Text form: join [SEED...], announce HASH, fetch HASH [PROVIDER...]; a
/// seed or provider is a decimal peer id or a "host:port" address.
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::client
