#pragma once
// Workload, accounting and checkers of the paid file market in the
// simulator. Workload item (downloads themselves come from the built-in
// "files" and "downloads" items; prices from the file set's "price"):
//
//   {"kind": "market", "ledger": "ledger_group", "fund": 100000000, "grace": "60s"}
//
// At the start every node of a group with a "payer" role gets `fund` from the
// ledger's treasury. The driver follows role events to keep, per (provider,
// peer), the bytes billable and paid (exposure = billable - paid), per
// strategy and policy the bytes cheaters got unpaid, and replays the
// ledger's blocks. Checkers:
//   market_honest_downloads   every honest download completes (verified: the
//                             simulator re-hashes at commit); "max_failures" (default 0)
//   market_payments_recognised every honest payment is recognised by its provider
//                             (those sent within `grace` of the end, or whose
//                             payer or provider is down at the end, are excused)
//   market_exposure_bound     no provider ever had more unpaid bytes with one
//                             peer than its policy's bound
//   ledger_conservation       no nonce spent twice, no balance below zero,
//                             balances sum to the supply, every block's own check ok
// Summary: "market" (per strategy x policy: cheaters, unpaid bytes per cheater
// and per provider beside the bound; honest overhead per policy).
#include "sim/workload_driver.hpp"

namespace peerlab::sim::market_sim {

driver_kind market_driver_kind();

} // namespace peerlab::sim::market_sim
