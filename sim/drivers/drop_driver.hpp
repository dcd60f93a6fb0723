#pragma once
// Workload and checkers of the file-drop message log in the
// simulator. Workload item:
//
//   {"kind": "droplog", "a": "side_a", "b": "side_b", "messages": 200,
//    "interval": "100ms", "min_size": 16, "max_size": 600, "large_share": 0.02,
//    "large_size": 5000, "http_calls": 40, "http_interval": "1s",
//    "http_body": 2048, "http_response": 8192, "start": "1s", "forger": "forger"}
//
// Side a's first node and side b's first node exchange `messages` app
// messages each way (a message waits for the previous one to be accepted, so
// the submission order is the log order), and a issues `http_calls` requests
// to b (alternately GET /size/<http_response> and POST /size/<n> with a body
// of `http_body` bytes; b answers with the simulated upstream). Checkers:
//   droplog_delivery    every message delivered exactly once, in order, intact, by the end
//   droplog_no_forgery  no delivered content that was not sent; forged files were sent and rejected
//   droplog_http        every call answered with the right status and body ("max_timeouts": 504s
//   allowed)
// Docs: docs/protocols/droplog.md, "The simulated channel".
#include "sim/workload_driver.hpp"

namespace peerlab::sim::drop {

driver_kind droplog_driver_kind();

} // namespace peerlab::sim::drop
