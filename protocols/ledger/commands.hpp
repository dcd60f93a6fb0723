#pragma once
// The ledger's local commands, as types; text forms parsed here only.
#include "protocols/common/command.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::ledger {

/// Mints `amount` from the treasury into `account`. Replies ledger_funded.
struct fund {
  static constexpr std::string_view verb = "fund";
  std::uint64_t account = 0;
  std::uint64_t amount = 0;
  void describe(std::string& out) const {
    describe_arg(out, account);
    describe_arg(out, amount);
  }
};

/// The balance of `account`. Replies ledger_balance.
struct balance {
  static constexpr std::string_view verb = "balance";
  std::uint64_t account = 0;
  void describe(std::string& out) const { describe_arg(out, account); }
};

using command = std::variant<fund, balance>;

/// Text form: fund ACCOUNT AMOUNT, balance ACCOUNT (unsigned decimals).
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::ledger
