#pragma once
// The payment verification loop of the seed ("PaymentVerificationLoop"), as
// its own role on the provider node (ports::payment).
//
// Bills come from the gate through the PaymentsInbox rows. A peer reports a
// payment with PAYMENT_NOTIFY (reference + transaction id); the verifier
// checks at once that the reference is the peer's and that the transaction id
// was not already used for another reference (UsedTx), then polls the ledger
// until the transaction is confirmed and pays this node, from that peer, at
// least the amount billed. Anything else, or no notification within the
// payment deadline, or no confirmation within the confirmation deadline,
// fails the bill and blacklists the peer.
//
// Each poll costs O(new bills + expired deadlines + status queries due), all
// from ordered indexes of unsettled bills only: settled payments cost nothing.
#include "protocols/ledger/codec.hpp"
#include "protocols/market/codec.hpp"
#include "protocols/market/market.hpp"

#include <map>
#include <set>

namespace peerlab::market {

class row; // protocols/market/tables.hpp

class verifier final : public role {
public:
  explicit verifier(verifier_config c);

  port_t port() const override { return ports::payment; }
  const char* name() const override { return "payment_verifier"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  std::vector<const table_schema*> tables() const override;
  const char* message_name(std::uint8_t t) const override {
    return t >= 0x80 ? ledger::message_name(t) : market::message_name(t);
  }

  std::size_t open_count() const { return open_.size(); }
  std::size_t queries_in_flight() const { return queries_.size(); }
  std::uint64_t known_tip() const { return tip_; }

private:
  enum class state : std::uint8_t { requested, notified };
  struct entry {
    peer_id peer = 0;
    digest hash{};
    std::uint64_t amount = 0, from = 0, to = 0;
    time_us requested_at = 0, notified_at = 0;
    time_us deadline = 0;       // current deadline in deadlines_
    time_us next_action = 0;    // key in actions_ (0 = not there)
    std::uint64_t wait_tip = 0; // key in tip_wait_ (0 = not there)
    state st = state::requested;
    tx_id tx{};
    bool late = false; // notified after the payment deadline failed it
  };
  using key = std::pair<time_us, payment_ref>;

  void poll(context&, effects&);
  void consume_inbox(context&);
  /// Starts following a bill; `restarted`: found in the rows at start.
  void track(context&, const payment_ref&, const row& payment, bool restarted);
  void on_notify(context&, peer_id from, const payment_notify&, effects&);
  void on_status(context&, const ledger::tx_status_reply&, effects&);
  void on_balance(const ledger::balance_reply&);
  void schedule(const payment_ref&, entry&, time_us at);
  void unschedule(const payment_ref&, entry&);
  void set_deadline(const payment_ref&, entry&, time_us at);
  entry close(context&, const payment_ref&, const char* status, const std::string* reason);
  void succeed(context&, const payment_ref&, effects&);
  void fail(context&, const payment_ref&, const std::string& reason, effects&);
  /// A late payment arrived: the peer leaves the blacklist if a missed
  /// deadline was its only fault and no other bill of it is still unpaid.
  void forgive_late(context&, peer_id peer, effects&);
  void reply(peer_id to, const payment_ref&, const tx_id&, pay_status, const std::string& reason,
             effects&);
  std::uint64_t next_req() { return ++req_seq_; }

  verifier_config cfg_;
  std::map<payment_ref, entry> open_;
  std::set<key> deadlines_;
  std::set<key> actions_;
  std::multimap<std::uint64_t, payment_ref> tip_wait_;
  std::map<std::uint64_t, payment_ref> queries_; // ledger request id -> bill
  std::uint64_t tip_ = 0;
  std::uint64_t req_seq_ = 0;
  std::uint64_t poll_token_ = 0;
};

} // namespace peerlab::market
