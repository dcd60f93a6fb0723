#pragma once
// The gossip role's local commands, as types; text forms parsed here only.
#include "protocols/common/command.hpp"
#include "protocols/common/peer_list.hpp"
#include "protocols/common/types.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::gossip {

/// Adds (connect) or removes (disconnect) peers to gossip with. Replies
/// command_done.
using peerlab::connect_peers;
using peerlab::disconnect_peers;

/// Joins or leaves a topic's mesh. Replies command_done.
struct subscribe_topic {
  static constexpr std::string_view verb = "subscribe";
  std::string topic;
  void describe(std::string& out) const { describe_arg(out, topic); }
};
struct unsubscribe_topic {
  static constexpr std::string_view verb = "unsubscribe";
  std::string topic;
  void describe(std::string& out) const { describe_arg(out, topic); }
};

/// Publishes `payload` on `topic`. Replies gossip_published.
struct publish_message {
  static constexpr std::string_view verb = "publish";
  std::string topic;
  bytes payload;
  void describe(std::string& out) const;
};

using command = std::variant<connect_peers, disconnect_peers, subscribe_topic, unsubscribe_topic,
                             publish_message>;

/// Text form: connect PEER..., disconnect PEER..., subscribe TOPIC,
/// unsubscribe TOPIC, publish TOPIC HEX_PAYLOAD.
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::gossip
