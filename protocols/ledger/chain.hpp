#pragma once
// The ledger's state, without any I/O: accounts, the mempool, blocks and the
// status of every transaction. The role (ledger_role.cpp) feeds it requests
// and block ticks; tests drive it directly.
//
// Model (account-based with per-payer nonces, like a UTXO set's spent
// outputs): a transaction (from, to, amount, fee, nonce) spends the payer's
// nonce. A nonce is spent at most once in a block: that is what makes a
// double spend impossible. While pending, a conflicting transaction (same
// payer and nonce) is rejected, or replaces the first if it pays a higher fee
// and replace-by-fee is on. A payer can never have more pending than its
// confirmed balance covers (no overdraft). Value moves only between accounts,
// so the sum of all balances is the supply, forever.
#include "protocols/ledger/codec.hpp"
#include "protocols/ledger/ledger.hpp"

#include <deque>
#include <map>
#include <vector>

namespace peerlab::ledger {

struct tx_record {
  account_id from = 0, to = 0;
  std::uint64_t amount = 0, fee = 0, nonce = 0;
  tx_status status = tx_status::pending; // pending, in a block, or replaced
  std::uint64_t height = 0;              // block holding it
  std::uint64_t seq = 0;                 // arrival order in the mempool
};

struct submit_result {
  bool ok = false;
  tx_id id{};
  error_code code = error_code::overdraft;
  std::string text;
  bool replaced_other = false; // it replaced a conflicting pending transaction...
  tx_id replaced{};            // ...this one
  bool duplicate = false;      // the same transaction was already known
};

class chain {
public:
  explicit chain(config c);

  /// Moves value out of the treasury at once (genesis allocation).
  submit_result fund(account_id to, std::uint64_t amount);
  /// Adds a transaction to the mempool (see the model above).
  submit_result submit(account_id from, account_id to, std::uint64_t amount, std::uint64_t fee,
                       std::uint64_t nonce);
  /// Makes a block of up to max_block_txs pending transactions in arrival
  /// order. Returns the ids included (possibly none: empty blocks advance the tip).
  std::vector<tx_id> make_block();

  tx_status_reply status(const tx_id& id) const;
  balance_reply balance(account_id a) const;

  std::uint64_t tip() const { return height_; }
  std::uint64_t supply() const { return cfg_.supply; }
  std::size_t pending_count() const { return mempool_.size(); }
  std::size_t tx_count() const { return txs_.size(); }
  const tx_record* find(const tx_id& id) const;
  const config& cfg() const { return cfg_; }

  /// Sum of all balances (must equal supply()) and that no account has
  /// pending spends above its balance. Empty if both hold; else what broke.
  std::string check_invariants() const;

  /// Rows (tables LedgerAccounts, LedgerTxs, LedgerMeta, ledger/tables.hpp):
  /// the state survives a crash of the ledger node. save_* write what changed.
  void load(const table_store& s);
  void save_meta(table_store& s) const;
  void save_account(table_store& s, account_id a) const;
  void save_tx(table_store& s, const tx_id& id) const;

private:
  struct account {
    std::uint64_t balance = 0;
    std::uint64_t pending_out = 0;
  };
  account& acct(account_id a) { return accounts_[a]; }
  void drop_pending(const tx_id& id, tx_record& r);

  config cfg_;
  std::uint64_t height_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t fund_nonce_ = 0; // nonces of the treasury's own fund transactions
  std::map<account_id, account> accounts_;
  std::map<tx_id, tx_record> txs_;
  std::map<std::pair<account_id, std::uint64_t>, tx_id> nonce_holder_; // pending or in a block
  std::map<std::uint64_t, tx_id> mempool_;                             // by arrival seq
};

} // namespace peerlab::ledger
