#pragma once
// The ledger as a role on ports::ledger: answers TRANSFER, TX_STATUS and
// BALANCE requests from the chain state, makes a block every block_interval,
// persists its state as rows, and checks conservation of value after every
// block. Commands (from the workload or an operator): "fund <account> <amount>"
// moves value out of the treasury; "balance <account>" answers with an event.
#include "protocols/ledger/chain.hpp"
#include "protocols/ledger/commands.hpp"
#include "protocols/ledger/ledger.hpp"

namespace peerlab::ledger {

class ledger_role final : public role {
public:
  explicit ledger_role(config c);

  port_t port() const override { return ports::ledger; }
  const char* name() const override { return "ledger"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, ledger::parse_command(verb, args, err));
  }
  const char* message_name(std::uint8_t t) const override { return ledger::message_name(t); }
  std::vector<const table_schema*> tables() const override;

  const chain& state() const { return chain_; }

private:
  void on_transfer(context&, peer_id from, const transfer&, effects&);
  void make_block(context&, effects&);

  config cfg_;
  chain chain_;
  std::uint64_t block_token_ = 0; // token of the pending block timer
};

} // namespace peerlab::ledger
