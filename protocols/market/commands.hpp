#pragma once
// The market's local commands, as types; their text forms are parsed here
// only. The payer takes `wallet`; the account role (account.hpp) takes the
// others. A role answers an alternative it does not take with command_failed 400.
#include "protocols/common/command.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/store.hpp"
#include "protocols/common/types.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::market {

/// Payer: the paying account's balance at the ledger. Replies wallet.
struct wallet {
  static constexpr std::string_view verb = "wallet";
  void describe(std::string&) const {}
};

/// Account: serves the file at `path`, which was hashed elsewhere to `hash`,
/// unless its size or mtime changed since. Replies api_provided.
struct provide_path {
  static constexpr std::string_view verb = "provide";
  std::string path, name;
  std::uint64_t price = 0;
  digest hash{};
  file_stamp stamp;
  void describe(std::string& out) const;
};

/// Account: stops serving a file. Replies api_unprovided, or 404.
struct unprovide_file {
  static constexpr std::string_view verb = "unprovide";
  digest hash{};
  void describe(std::string& out) const;
};

/// Account: the rows of one listing. Each replies api_list.
struct list_provided {
  static constexpr std::string_view verb = "provided";
  void describe(std::string&) const {}
};
struct list_downloads {
  static constexpr std::string_view verb = "downloads";
  void describe(std::string&) const {}
};
struct list_payments {
  static constexpr std::string_view verb = "payments";
  void describe(std::string&) const {}
};

/// Account: the balance of `account` (0: this node) at the ledger. Replies
/// api_balance, or 504 if the ledger does not answer in time.
struct balance_of {
  static constexpr std::string_view verb = "balance";
  peer_id account = 0;
  void describe(std::string& out) const { describe_arg(out, account); }
};

using command = std::variant<wallet, provide_path, unprovide_file, list_provided, list_downloads,
                             list_payments, balance_of>;

/// Text forms: wallet; provide PATH NAME PRICE HASH SIZE MTIME_NS (an
/// absolute path, a 64-hex SHA-256, decimal numbers); unprovide HASH;
/// provided; downloads; payments; balance [ACCOUNT] (a decimal node id).
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::market
