#include "protocols/ledger/commands.hpp"

#include "protocols/common/text.hpp"

namespace peerlab::ledger {

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  if (verb == fund::verb) {
    if (args.size() != 2)
      return bad("fund needs <account> <amount>");
    auto a = parse_u64(args[0]);
    auto v = parse_u64(args[1]);
    if (!a || !v)
      return bad("fund: account and amount must be unsigned decimal integers");
    return fund{*a, *v};
  }
  if (verb == balance::verb) {
    if (args.size() != 1)
      return bad("balance needs <account>");
    auto a = parse_u64(args[0]);
    if (!a)
      return bad("balance: account must be an unsigned decimal integer");
    return balance{*a};
  }
  return bad("the ledger knows the verbs \"fund\" and \"balance\", got \"" + quote_arg(verb, 80) +
             "\"");
}

} // namespace peerlab::ledger
