#include "protocols/market/commands.hpp"

#include "protocols/common/text.hpp"

namespace peerlab::market {

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  if (verb != wallet::verb) {
    err = {fail_code::bad_request,
           "the payer knows only \"wallet\", got \"" + quote_arg(verb, 80) + "\""};
    return std::nullopt;
  }
  if (!args.empty()) {
    err = {fail_code::bad_request, "wallet takes no arguments"};
    return std::nullopt;
  }
  return wallet{};
}

} // namespace peerlab::market
