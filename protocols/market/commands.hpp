#pragma once
// The payer's local command, as a type; its text form is parsed here only.
#include "protocols/common/command.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::market {

/// The paying account's balance at the ledger. Replies wallet.
struct wallet {
  static constexpr std::string_view verb = "wallet";
  void describe(std::string&) const {}
};

using command = std::variant<wallet>;

/// Text form: wallet.
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::market
