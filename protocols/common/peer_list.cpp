#include "protocols/common/peer_list.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"

namespace peerlab {

std::optional<std::vector<peer_id>>
parse_peer_list(std::string_view verb, const std::vector<std::string>& args, command_error& err) {
  if (args.empty()) {
    err = {fail_code::bad_request, std::string(verb) + " needs at least one peer id"};
    return std::nullopt;
  }
  if (args.size() > limits::command_args_max) {
    err = {fail_code::bad_request, std::string(verb) + " takes at most " +
                                     std::to_string(limits::command_args_max) + " peer ids"};
    return std::nullopt;
  }
  std::vector<peer_id> peers;
  peers.reserve(args.size());
  for (auto& a : args) {
    auto p = parse_u64(a);
    if (!p) {
      err = {fail_code::bad_request, "\"" + quote_arg(a, 40) + "\" is not a decimal peer id"};
      return std::nullopt;
    }
    peers.push_back(*p);
  }
  return peers;
}

} // namespace peerlab
