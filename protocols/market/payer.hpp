#pragma once
// The paying side (ports::payer), on downloading nodes. A PAYMENT_REQUEST from
// a provider becomes a ledger TRANSFER from this node's account to the
// provider's; once the ledger accepts it, a PAYMENT_NOTIFY (reference +
// transaction id) goes to the provider's payment_verifier. TRANSFERs and
// notifications are sent again until answered; the nonce of a payment is
// derived from its reference, so a resent TRANSFER is the same transaction.
// Payments made are rows "out:<ref>" of the Payments table (they survive a
// crash and are resumed). The adversary strategies (market.hpp) cheat here.
// Command "wallet" answers with the account's balance (event "wallet").
//
// A bill is paid only if the purchase book (purchases.hpp) allows it: the
// node's downloader reports every paid download to this role (command
// filexfer::purchase_report, through effects::ask). Refused bills are counted
// market.bills_refused and market.bills_refused.<reason>, and emitted as
// "bill_refused"; bills for bytes not arrived yet wait for the provider to
// send them again (market.bills_deferred).
#include "protocols/market/commands.hpp"
#include "protocols/ledger/codec.hpp"
#include "protocols/market/codec.hpp"
#include "protocols/market/market.hpp"
#include "protocols/market/purchases.hpp"

#include <map>

namespace peerlab::market {

class payer final : public role {
public:
  explicit payer(payer_config c);

  port_t port() const override { return ports::payer; }
  const char* name() const override { return "payer"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, market::parse_command(verb, args, err));
  }
  std::vector<const table_schema*> tables() const override;
  const char* message_name(std::uint8_t t) const override {
    return t >= 0x80 ? ledger::message_name(t) : market::message_name(t);
  }

  std::size_t unsettled() const { return payments_.size(); }
  const purchase_book& purchases() const { return book_; }

private:
  enum class state : std::uint8_t { waiting_late, transferring, notifying, acked };
  struct payment {
    peer_id provider = 0;
    digest hash{};
    std::uint64_t billed = 0, paying = 0;
    std::uint64_t nonce = 0;
    state st = state::transferring;
    tx_id tx{};
    time_us created = 0, last_sent = 0, late_at = 0;
    std::uint32_t resends = 0;
  };

  void on_request(context&, peer_id from, const payment_request&, effects&);
  /// Judges a new bill; false (counted, emitted) if it must not be paid now.
  bool admissible(peer_id from, const payment_request&, effects&);
  void on_status(context&, peer_id from, const payment_status&, effects&);
  void on_transfer_ok(context&, const ledger::transfer_ok&, effects&);
  void on_transfer_err(context&, const ledger::transfer_err&, effects&);
  payment* awaiting_transfer(std::uint64_t req_id, payment_ref& ref);
  void send_transfer(context&, const payment_ref&, payment&, effects&);
  void send_notify(context&, const payment_ref&, payment&, effects&);
  void save_row(context&, const payment_ref&, const payment&, const std::string& status,
                const std::string& reason = "");
  void settle(const payment_ref&);

  payer_config cfg_;
  purchase_book book_;
  std::map<payment_ref, payment> payments_;            // not yet settled
  std::map<std::uint64_t, payment_ref> transfers_;     // ledger request id -> payment
  std::map<std::uint64_t, payment_ref> conflicts_;     // double_spends: the replacing transfer
  std::map<std::uint64_t, std::uint64_t> wallet_asks_; // ledger request id -> command id
  std::optional<tx_id> first_tx_;                      // reuses_tx_id: the one it keeps reporting
  std::uint64_t req_seq_ = 0;
  std::uint64_t tick_token_ = 0;
};

} // namespace peerlab::market
