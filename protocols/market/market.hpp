#pragma once
// The payment side of the paid file market.
//
// Three pieces, each on the node that needs it:
// - the payment gate (gate.hpp) plugs into the filexfer provider: it bills a
//   peer for what it downloads (PAYMENT_REQUEST to the peer's payer port),
//   holds content until the provider's policy allows more, and refuses
//   blacklisted peers;
// - the payment_verifier role (verifier.hpp, ports::payment) records payment
//   notifications and polls the ledger until each payment is confirmed and
//   correct, or fails it and blacklists the peer;
// - the payer role (payer.hpp, ports::payer) on downloading nodes pays bills
//   through the ledger and notifies the provider; its adversary strategies
//   cheat in the named ways.
// They share rows through the node's kv_store (tables.hpp). Wire format,
// policies and their exposure bounds: docs/protocols/market.md.
#include "protocols/common/role.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/filexfer/payment_gate.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t payment = 5; // payment notifications to a provider
// ports::payer (9, declared by filexfer): payment requests and results to a paying node
constexpr port_t api = 10; // the local HTTP API's agent on a live node
} // namespace ports
} // namespace peerlab

namespace peerlab::market {

/// When a provider wants to be paid (scenario: provider role "payment.policy").
enum class policy : std::uint8_t {
  pay_after,      // the whole file is served, then billed (as the original)
  pay_per_window, // at most `window` unpaid bytes per peer; billed every window/2
  prepay,         // billed before the first byte; served once the payment is confirmed
};
std::optional<policy> policy_from_name(std::string_view);
const char* policy_name(policy);

/// How a payer behaves (scenario: groups[].adversary on a node with a payer).
enum class strategy : std::uint8_t {
  honest,
  never_pays,    // ignores every bill
  underpays,     // pays half of each bill
  fake_tx_id,    // reports a random transaction id, pays nothing
  reuses_tx_id,  // pays its first bill, then reports that transaction for every later one
  double_spends, // pays, notifies, then replaces the payment with one to itself (higher fee)
  pays_late,     // pays correctly, but only after `late_delay`
  impersonates,  // never pays; asks the ledger to move the biller's money to itself, in the
                 // biller's name (the ledger must check who really sent the transfer)
};
std::optional<strategy> strategy_from_name(std::string_view);
const char* strategy_name(strategy);
/// Every cheating strategy's name (not "honest").
const std::vector<std::string>& cheating_strategies();

/// How a provider bills (scenario: groups[].adversary on a node with a paid
/// provider). The cheating ones try to take more than the peer bought.
enum class biller : std::uint8_t {
  honest,
  unsolicited_bills, // also bills a node that bought nothing (the buyer's id + 1)
  inflated_bills,    // asks twice the price of the bytes billed
  wrong_hash_bills,  // names a file the peer did not buy from it
  double_bills,      // bills every range twice, under two references
};
std::optional<biller> biller_from_name(std::string_view);
const char* biller_name(biller);
/// Every cheating biller's name (not "honest").
const std::vector<std::string>& cheating_billers();

struct gate_config {
  policy kind = policy::pay_after;
  biller cheat = biller::honest;
  std::uint64_t window_bytes = 1u << 20;    // pay_per_window: unpaid bytes per peer
  std::uint32_t max_open_purchases = 1;     // pay_after: files a peer may owe at once
  time_us payment_deadline = 30 * us_per_s; // bill to payment notification
  time_us recheck = 250 * us_per_ms;        // held uploads look at the payment rows this often
  time_us idle_bill_after = 20 * us_per_s;  // unbilled bytes of an idle purchase are billed then
  std::string check() const;
  /// Bytes a cheater can get unpaid from one provider (docs/protocols/market.md),
  /// given the largest file it has open.
  std::uint64_t exposure_bound(std::uint64_t largest_file) const;
};

struct verifier_config {
  peer_id ledger = 0;
  std::string ledger_address; // live mode: "host:port" of the ledger node
  time_us poll_interval = 1 * us_per_s;
  time_us confirm_deadline = 60 * us_per_s; // notification to confirmation
  time_us unknown_grace = 5 * us_per_s; // a notified tx the ledger does not know is fake after this
  time_us query_timeout = 5 * us_per_s; // an unanswered status query is sent again after this
  time_us request_resend = 3 * us_per_s; // a bill not yet notified is sent again this often
  std::size_t max_queries_per_poll = 1024;
  std::string check() const;
};

struct payer_config {
  peer_id ledger = 0;
  std::string ledger_address;
  std::uint64_t fee = 1;
  strategy cheat = strategy::honest;
  time_us late_delay = 90 * us_per_s;     // pays_late: wait this long before paying
  time_us resend_interval = 3 * us_per_s; // unanswered TRANSFER / PAYMENT_NOTIFY go again
  std::uint32_t max_resends = 10;
  /// Judge bills against the purchase book (purchases.hpp). Off only in tests
  /// that show what a naive payer loses.
  bool check_bills = true;
  std::string check() const;
};

/// The account role (account.hpp, ports::api): the node's files served by
/// path, its market tables as listings, and balances at the ledger. Behind a
/// live node's market API; usable in node configs and scenario groups.
struct account_config {
  std::optional<peer_id> ledger; // none: balance is refused (node 0 is a ledger in the simulator)
  std::string ledger_address;    // live mode: "host:port" of the ledger node
  time_us ledger_timeout = 5 * us_per_s;
  std::size_t max_list = 1000;        // rows per api_list
  std::size_t max_balance_asks = 256; // balance queries waiting for the ledger
  std::string check() const;
};

/// Bounds of the payment protocol.
namespace bounds {
constexpr std::size_t open_payments_max = 200'000;  // verifier: bills not yet settled
constexpr std::size_t payer_payments_max = 100'000; // payer: payments not yet settled
constexpr std::size_t open_purchases_per_peer_max = 64;
constexpr std::size_t reason_max = 200;          // reasons stored in rows and sent
constexpr std::size_t list_rows_max = 100'000;   // account: the largest max_list
constexpr std::size_t balance_asks_max = 65'536; // account: the largest max_balance_asks
} // namespace bounds

std::shared_ptr<filexfer::payment_gate> make_gate(const gate_config&);
std::shared_ptr<role> make_verifier(const verifier_config&);
std::shared_ptr<role> make_payer(const payer_config&);
std::shared_ptr<role> make_account(const account_config&);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::market
