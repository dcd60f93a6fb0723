#pragma once
// What a finished run offers its readers (summary, checkers, results file),
// whichever world produced it: the simulator, or live nodes driven by
// `peerlab testbed`. Both run the same workload drivers through sim_api, so
// a run's outcomes are read the same way from either.
#include "sim/run_stats.hpp"
#include "sim/scenario.hpp"
#include "sim/workload_driver.hpp"

#include <string>
#include <vector>

namespace peerlab::sim {

class run_view {
public:
  virtual ~run_view() = default;

  /// Per-group metric snapshots taken every metrics.interval: (time, group, name, value).
  struct metric_row {
    time_us t;
    std::uint32_t group;
    std::string name;
    double value;
  };
  /// Role events, when the scenario records them (bounded).
  struct event_row {
    time_us t;
    std::uint32_t node;
    std::string kind;
    std::string detail; // JSON of fields and values
  };

  /// A row a node kept in one of its tables (live runs: read from each
  /// node's node.db after it stopped), as JSON {column: value}.
  struct node_row {
    std::uint32_t node;
    std::string table;
    std::string row;
  };

  /// "sim" or "live": the world that produced the run (results column `world`).
  virtual const char* world() const = 0;
  virtual const scenario& spec() const = 0;
  virtual std::uint64_t seed() const = 0;
  /// The run's fingerprint (hex) and the events it covers; live runs have no
  /// hash chain and report "live" and the role events they saw.
  virtual std::string fingerprint_hex() const = 0;
  virtual std::uint64_t event_count() const = 0;
  virtual const run_stats& stats() const = 0;
  virtual std::size_t node_count() const = 0;
  virtual std::uint32_t group_of(std::uint32_t node) const = 0;
  virtual time_us end_time() const = 0;
  /// Scenario time reached: the end, or where a failed run stopped.
  virtual time_us now_time() const = 0;
  virtual const std::vector<metric_row>& metric_series() const = 0;
  virtual const std::vector<event_row>& recorded_events() const = 0;
  virtual bool events_truncated() const = 0;
  virtual bool metrics_truncated() const = 0;
  virtual std::size_t driver_count() const = 0;
  virtual const workload_driver& driver(std::size_t i) const = 0;
  virtual const sim_api& driver_api(std::size_t i) const = 0;
  /// The nodes' own table rows, where the world collects them (live); none here.
  virtual const std::vector<node_row>& node_rows() const {
    static const std::vector<node_row> none;
    return none;
  }
};

} // namespace peerlab::sim
