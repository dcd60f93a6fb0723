#include "protocols/gossip/commands.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/peer_list.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/text.hpp"
#include "protocols/gossip/codec.hpp"

namespace peerlab::gossip {

void publish_message::describe(std::string& out) const {
  describe_arg(out, topic);
  describe_arg(out, peerlab::to_hex(byte_view{payload.data(), payload.size()}));
}

namespace {} // namespace

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  if (args.size() > peerlab::limits::command_args_max)
    return bad("too many arguments (at most 64)");
  if (verb == connect_peers::verb)
    return parse_peers_command<connect_peers>(verb, args, err);
  if (verb == disconnect_peers::verb)
    return parse_peers_command<disconnect_peers>(verb, args, err);
  if (verb == subscribe_topic::verb || verb == unsubscribe_topic::verb) {
    if (args.size() != 1)
      return bad(std::string(verb) + " needs exactly one topic");
    if (verb == subscribe_topic::verb)
      return subscribe_topic{args[0]};
    return unsubscribe_topic{args[0]};
  }
  if (verb == publish_message::verb) {
    if (args.size() != 2)
      return bad("publish needs a topic and a hex payload");
    if (args[1].size() > 2 * limits::message_bytes_max)
      return bad("payload larger than " + std::to_string(limits::message_bytes_max) + " bytes");
    auto data = bytes_from_hex(args[1]);
    if (!data)
      return bad("payload is not an even number of hex digits");
    return publish_message{args[0], std::move(*data)};
  }
  return bad("gossip knows the verbs connect, disconnect, subscribe, unsubscribe, publish");
}

} // namespace peerlab::gossip
