#pragma once
// The ledger's tables (docs/tables.md): its state survives a crash of the
// ledger node. Amounts, ids and counters are unsigned 64-bit values stored bit
// for bit in SQLite's signed INTEGER (read them with row::u64).
#include "protocols/common/table.hpp"
#include "protocols/ledger/ledger.hpp"

#include <optional>

namespace peerlab::ledger {

/// LedgerMeta(name TEXT = 'state', height, next_seq, fund_nonce, supply).
const table_schema& meta_table();
/// LedgerAccounts(account INTEGER, balance INTEGER).
const table_schema& accounts_table();
/// LedgerTxs(id BLOB[32], from_account, to_account, amount, fee, nonce,
/// status TEXT (status_name: pending, in_block, confirmed, replaced), height, seq).
const table_schema& txs_table();
std::optional<tx_status> status_from_name(std::string_view);

} // namespace peerlab::ledger
