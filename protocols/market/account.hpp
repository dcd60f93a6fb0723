#pragma once
// The account role (ports::api): what a node's owner asks of the market
// about this node. A live node's market API (net/market_api.hpp) turns every
// request into one of these commands; node configs, the CLI and scenario
// `command` items send the same ones, so the simulator runs the same code.
//
// Verbs (failures: command_failed with values.code, an HTTP status, and fields.reason):
//   provide PATH NAME PRICE HASH SIZE MTIME_NS
//                                      serve a file hashed elsewhere (refused, 409, if
//                                      its stamp changed since); row ProvidedPaths[HASH]
//                                      -> api_provided {hash, name, path; size, price}
//   unprovide HASH                     -> api_unprovided {hash}, or command_failed 404
//   provided | downloads | payments    -> api_list {table, json (array); count, total}
//   balance [ACCOUNT]                  BALANCE_REQ to the ledger (reply to this port)
//                                      -> api_balance {account; balance, pending_out, tip}
//                                         or command_failed 504 after ledger_timeout
// At start, files in ProvidedPaths are served again if their stamp (size and
// modification time) did not change (event api_provide_restored), otherwise
// dropped (api_provide_dropped): a changed file would need hashing again.
// Files and stamps come from the node's content_store, so the role does no
// I/O: live it is disk_content, in the simulator the synthetic files, which
// have no paths (provide is refused there; docs/protocols/market.md).
#include "protocols/market/commands.hpp"
#include "protocols/market/market.hpp"

#include <map>

namespace peerlab::market {

class account final : public role {
public:
  explicit account(account_config cfg);

  port_t port() const override { return ports::api; }
  const char* name() const override { return "account"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, market::parse_command(verb, args, err));
  }
  const char* message_name(std::uint8_t t) const override;
  std::vector<const table_schema*> tables() const override;

  const account_config& cfg() const { return cfg_; }

private:
  void provide(context&, const peerlab::command&, const provide_path&, effects&);
  void unprovide(context&, const peerlab::command&, const unprovide_file&, effects&);
  void list_served(context&, const peerlab::command&, effects&);
  void list_table(context&, const peerlab::command&, const table_schema&, effects&);
  void balance(context&, const peerlab::command&, const balance_of&, effects&);
  void restore(context&, effects&);

  account_config cfg_;
  std::map<std::uint64_t, std::uint64_t> balance_asks_; // ledger req_id -> command id
  std::uint64_t next_req_ = 1;                          // from the rng at start
};

} // namespace peerlab::market
