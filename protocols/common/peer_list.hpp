#pragma once
// The text form of the commands that name peers (gossip's and fileset's
// connect and disconnect): one decimal peer id per argument.
#include "protocols/common/command.hpp"
#include "protocols/common/types.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab {

/// The peer ids `verb` was given: one to limits::command_args_max arguments,
/// each a whole decimal number. Nothing, with `err` saying which argument is
/// wrong (or that there are none or too many), otherwise.
std::optional<std::vector<peer_id>>
parse_peer_list(std::string_view verb, const std::vector<std::string>& args, command_error& err);

/// The same as command `Peers`, a struct whose one field is
/// `std::vector<peer_id> peers`.
template <class Peers>
std::optional<Peers> parse_peers_command(std::string_view verb,
                                         const std::vector<std::string>& args, command_error& err) {
  auto peers = parse_peer_list(verb, args, err);
  if (!peers)
    return std::nullopt;
  return Peers{std::move(*peers)};
}

} // namespace peerlab
