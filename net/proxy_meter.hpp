#pragma once
// Bytes a proxy moved per client (or per upstream), in both directions, with
// reports at a bounded rate: a report when a client's unreported bytes reach
// `report_bytes`, or when some are older than `report_interval` (flush_due,
// called by the proxy's timer). The totals are exact and readable from any
// thread; reports are called outside the lock, in order per meter.
#include "protocols/common/types.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace peerlab::net::proxy {

struct byte_totals {
  std::uint64_t up = 0;   // from the client towards the destination
  std::uint64_t down = 0; // from the destination to the client
};

class meter {
public:
  using report_fn =
    std::function<void(const std::string& id, std::uint64_t up, std::uint64_t down)>;

  meter(report_fn report, std::uint64_t report_bytes, time_us report_interval);

  /// Counts bytes of `id` at time `now` (the proxy's clock); may report.
  void add(const std::string& id, std::uint64_t up, std::uint64_t down, time_us now);
  /// Reports every id whose unreported bytes were first counted at least
  /// report_interval before `now`.
  void flush_due(time_us now);
  /// Reports whatever `id` has unreported (its connection closed).
  void flush(const std::string& id);
  byte_totals totals(const std::string& id) const;
  /// Reports made so far (tests check the rate bound).
  std::uint64_t reports() const;

private:
  struct entry {
    byte_totals total, unreported;
    time_us since = 0; // when the oldest unreported byte was counted
  };
  struct pending {
    std::string id;
    byte_totals bytes;
  };
  void take(const std::string& id, entry& e, std::vector<pending>& out);
  void deliver(const std::vector<pending>& out);

  report_fn report_;
  std::uint64_t report_bytes_;
  time_us interval_;
  mutable std::mutex mu_;
  std::map<std::string, entry> entries_;
  std::uint64_t reports_ = 0;
  std::mutex deliver_mu_; // reports in the order they were taken
};

} // namespace peerlab::net::proxy
