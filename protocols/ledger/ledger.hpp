#pragma once
// The simulated chain of the paid file market: accounts, balances,
// transactions with deterministic ids, blocks at a fixed interval, a
// confirmation depth, and rejection of overdrafts and double spends.
// It is a role on ports::ledger that other nodes reach over the network with
// a narrow request/response interface (codec.hpp: TRANSFER, TX_STATUS,
// BALANCE), small enough that a real chain client (e.g. a Bitcoin regtest RPC
// client) could stand in for it. Docs: docs/protocols/market.md.
#include "protocols/common/role.hpp"
#include "protocols/common/sha256.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t ledger = 4; // the ledger
} // namespace ports
} // namespace peerlab

namespace peerlab::ledger {

/// An account is named by the peer id of the node that owns it: the ledger
/// accepts a TRANSFER only from the node whose id is the paying account (in
/// place of a signature).
using account_id = std::uint64_t;
/// Holds the whole supply at genesis; the "fund" command pays out of it.
constexpr account_id treasury = std::numeric_limits<std::uint64_t>::max();
/// Receives the fees of the transactions in each block (the block producer).
constexpr account_id fee_sink = std::numeric_limits<std::uint64_t>::max() - 1;

using tx_id = digest;

enum class tx_status : std::uint8_t {
  unknown = 0,   // never seen (or rejected)
  pending = 1,   // in the mempool
  in_block = 2,  // in a block, fewer than `confirmations` deep
  confirmed = 3, // at least `confirmations` deep: final
  replaced = 4,  // a conflicting transaction (same payer and nonce) replaced it
};
const char* status_name(tx_status s);

struct config {
  time_us block_interval = 2 * us_per_s;
  /// Depth (blocks including the one holding it) at which a transaction is confirmed.
  std::uint32_t confirmations = 2;
  std::uint64_t supply = 1'000'000'000'000'000ull; // all value that will ever exist
  std::size_t max_block_txs = 4096;
  /// Replace-by-fee: a conflicting pending transaction with a higher fee
  /// replaces the first (Bitcoin Core's full RBF). Off: first seen wins.
  bool replace_by_fee = true;
  std::string check() const; // empty if valid
};

/// Bounds of the ledger (the project-wide ones are in protocols/common/limits.hpp).
namespace bounds {
constexpr std::size_t pending_max = 200'000; // mempool
constexpr std::size_t txs_max = 20'000'000;  // all transactions ever kept
constexpr std::size_t accounts_max = 10'000'000;
} // namespace bounds

/// Deterministic transaction id: SHA-256 over a domain tag and the fields.
/// The same transfer sent twice has the same id (so retransmissions are
/// idempotent); two transfers with the same payer and nonce conflict.
tx_id make_tx_id(account_id from, account_id to, std::uint64_t amount, std::uint64_t fee,
                 std::uint64_t nonce);

std::shared_ptr<role> make_ledger(const config& c);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::ledger
