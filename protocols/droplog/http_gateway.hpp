#pragma once
// The sans-I/O parts of the layer-2 HTTP gateways, shared by the simulated
// role and the live gateways in net/: the table of requests waiting for a
// response (side A, with deadlines that become 504s), the gateway metrics,
// and the deterministic upstream "server" of the simulator (side B).
#include "protocols/common/rng.hpp"
#include "protocols/droplog/httpmsg.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace peerlab::droplog::http {

/// Side A: requests sent through the log and not yet answered.
class pending_table {
public:
  explicit pending_table(std::size_t max_pending) : max_(max_pending) {}

  struct entry {
    time_us started = 0;
    time_us deadline = 0;
    std::uint64_t tag = 0; // the caller's handle (command id, connection id)
    std::uint64_t request_bytes = 0;
  };
  /// Picks a fresh request id (random, so ids of an earlier incarnation whose
  /// responses are still in the log do not match) and records the request.
  /// nullopt when the table is full.
  std::optional<std::uint64_t> begin(rng& r, time_us now, time_us timeout, std::uint64_t tag,
                                     std::uint64_t request_bytes);
  /// Removes and returns the entry; nullopt if unknown (late, duplicate or
  /// for an earlier incarnation).
  std::optional<entry> complete(std::uint64_t id);
  /// Removes and returns the entries whose deadline is at or before `now`.
  std::vector<std::pair<std::uint64_t, entry>> expire(time_us now);
  time_us next_deadline() const; // max() if none
  std::size_t size() const { return by_id_.size(); }

private:
  std::size_t max_;
  std::map<std::uint64_t, entry> by_id_;
  std::multimap<time_us, std::uint64_t> by_deadline_;
};

/// Counters of one gateway side; printed by the live gateways and reported
/// by the simulated role.
struct gateway_metrics {
  std::uint64_t requests = 0;  // accepted from clients (A) or performed upstream (B)
  std::uint64_t responses = 0; // answered (any status)
  std::uint64_t status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0;
  std::uint64_t gateway_timeouts = 0; // 504 produced here
  std::uint64_t upstream_errors = 0;  // 502 produced here
  std::uint64_t rejected = 0;         // refused before sending (too large, table full)
  std::uint64_t late_responses = 0;   // responses for unknown or expired ids
  std::uint64_t bad_messages = 0;     // authenticated log messages that did not decode
  std::uint64_t request_body_bytes = 0, response_body_bytes = 0;
  std::uint64_t latency_samples = 0;
  double latency_sum_s = 0, latency_max_s = 0;

  void count_status(std::uint16_t status);
  void add_latency(time_us d);
  double error_percent() const; // 5xx share of responses, in percent
  /// name/value pairs for JSON lines and summaries (stable order).
  std::vector<std::pair<std::string, double>> values() const;
};

/// The simulator's upstream server: a pure function of the request.
/// GET/HEAD/DELETE /size/<n>[...] answer <n> deterministic bytes (n bounded by
/// `max_body`); other methods echo a digest of the request body followed by
/// the body; /status/<code> answers that code; anything else 404.
response simulated_upstream(const request& q, std::uint64_t max_body);

/// The deterministic body bytes of /size/<n> for a target.
bytes simulated_body(std::string_view target, std::uint64_t n);

} // namespace peerlab::droplog::http
