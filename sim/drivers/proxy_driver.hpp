#pragma once
// Workload and checkers of the paid HTTP proxy in the simulator. Workload item:
//
//   {"kind": "proxy", "ledger": "ledger", "boot": "ledger", "fund": 1000000000000,
//    "providers": ["providers", "over_reporters"], "clients": ["honest", "stops_paying"],
//    "fee_per_kb": {"min": 5, "max": 20}, "open": "20s", "stop": "4m", "close": "4m30s",
//    "request": {"dist": "lognormal", "median": "700", "sigma": 0.5},
//    "response": {"dist": "pareto", "min": "4KiB", "shape": 1.3},
//    "think": {"dist": "exponential", "mean": "2s"}}
//
// The ledger funds every client; every node of the provider and client
// groups joins the DHT through the first node of `boot` (which runs kad);
// each provider starts providing at a fee drawn from [min, max]; from `open`
// each client opens a session with the best provider and then browses: one
// exchange of `request` bytes up and `response` bytes down (the provider's
// DATA frames), then a think time, until `stop`; at `close` it settles and
// closes. Checkers:
//   proxy_honest_settle      every honest pair closed with the provider paid exactly the fee of
//                            its count, and both sides counted the same bytes
//   proxy_no_false_cutoffs   no honest client cut off by an honest provider, nor leaving one
//   proxy_cheaters_cut_off   every cheating client cut off by each honest provider it used,
//                            every cheating provider left by the honest clients it cheated
//   proxy_gain_bound         each cheater's gain stays under its bound (docs/protocols/proxy.md)
// Figures (summary "proxy"): bytes proxied, settlement frames and bytes per MB,
// each cheater's gain against its bound, false cut-offs.
#include "sim/workload_driver.hpp"

namespace peerlab::sim::proxy_sim {

driver_kind proxy_driver_kind();

} // namespace peerlab::sim::proxy_sim
