#pragma once
// The commands that name peers (gossip's and fileset's connect and
// disconnect) and their text form: one decimal peer id per argument.
#include "protocols/common/command.hpp"
#include "protocols/common/types.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab {

/// Adds peers to talk to (gossip's and fileset's "connect").
struct connect_peers {
  static constexpr std::string_view verb = "connect";
  std::vector<peer_id> peers;
  void describe(std::string& out) const {
    for (auto p : peers)
      describe_arg(out, p);
  }
};
/// Stops talking to peers (gossip's and fileset's "disconnect").
struct disconnect_peers {
  static constexpr std::string_view verb = "disconnect";
  std::vector<peer_id> peers;
  void describe(std::string& out) const {
    for (auto p : peers)
      describe_arg(out, p);
  }
};

/// The peer ids `verb` was given: one to limits::command_args_max arguments,
/// each a whole decimal number. Nothing, with `err` saying which argument is
/// wrong (or that there are none or too many), otherwise.
std::optional<std::vector<peer_id>>
parse_peer_list(std::string_view verb, const std::vector<std::string>& args, command_error& err);

/// The same as command `Peers` (connect_peers or disconnect_peers).
template <class Peers>
std::optional<Peers> parse_peers_command(std::string_view verb,
                                         const std::vector<std::string>& args, command_error& err) {
  auto peers = parse_peer_list(verb, args, err);
  if (!peers)
    return std::nullopt;
  return Peers{std::move(*peers)};
}

} // namespace peerlab
