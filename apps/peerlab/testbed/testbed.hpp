#pragma once
// peerlab testbed: a scenario run by live `peerlab node` processes on real
// sockets. The scenario's groups become node configs, its files real files,
// and the same workload drivers the simulator runs issue the same role
// commands, here through each node's control channel; churn kills (crash)
// or stops (leave) processes and restarts them. The outcome is a run_view,
// so checkers, summary and results file read it as they read a simulation.
// docs/testbed.md.
#include "apps/peerlab/testbed/node_process.hpp"
#include "sim/checkers.hpp"
#include "sim/results.hpp"
#include "sim/run_view.hpp"
#include "sim/synthetic_content.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

namespace peerlab::app::testbed {

struct options {
  std::optional<std::uint64_t> seed; // default: the scenario's
  /// Wall seconds per scenario second for the workload, churn and the end
  /// (latencies injected on the sockets are never scaled).
  double time_scale = 1.0;
  std::string exe;                // the peerlab binary the nodes run
  std::filesystem::path work_dir; // empty: a fresh folder under the temp dir
  bool keep = false;              // keep the work folder (configs, data, logs)
  bool progress = false;          // a progress line on stderr
  /// "auto": each node in its own network namespace when the machine allows
  /// it (root), else loopback ports; "netns": namespaces or fail; "loopback".
  std::string network = "auto";
};

class live_world final : public sim::run_view {
public:
  /// Throws std::runtime_error if the work folder or a node cannot be set up.
  live_world(const sim::scenario& s, options o);
  ~live_world() override; // stops every node and removes the work folder (unless keep)

  /// Runs the scenario to its end (scaled); returns when every node stopped.
  void run();
  /// Asks a running run() to stop early (SIGINT/SIGTERM of the testbed).
  void interrupt();

  double setup_seconds() const { return setup_s_; }
  double time_scale() const { return opt_.time_scale; }
  /// Wall seconds from the start until every node had said "listening" once
  /// (0 if some never did).
  double all_up_seconds() const { return all_up_s_; }
  double teardown_seconds() const { return teardown_s_; }
  const std::filesystem::path& work_dir() const { return dir_; }
  /// "netns" or "loopback": what the run uses; why namespaces were not used.
  const std::string& network() const { return network_; }
  const std::string& network_note() const { return network_note_; }

  // -- run_view ------------------------------------------------------------
  const char* world() const override { return "live"; }
  const sim::scenario& spec() const override { return spec_; }
  std::uint64_t seed() const override { return seed_; }
  std::string fingerprint_hex() const override { return "live"; }
  std::uint64_t event_count() const override { return events_; }
  const sim::run_stats& stats() const override { return stats_; }
  std::size_t node_count() const override { return node_group_.size(); }
  std::uint32_t group_of(std::uint32_t n) const override { return node_group_[n]; }
  time_us end_time() const override { return spec_.duration; }
  time_us now_time() const override { return reached_; }
  const std::vector<metric_row>& metric_series() const override { return series_; }
  const std::vector<event_row>& recorded_events() const override { return recorded_; }
  bool events_truncated() const override { return events_truncated_; }
  bool metrics_truncated() const override { return false; }
  std::size_t driver_count() const override { return drivers_.size(); }
  const sim::workload_driver& driver(std::size_t i) const override { return *drivers_[i].d; }
  const sim::sim_api& driver_api(std::size_t i) const override { return *drivers_[i].api; }
  const std::vector<node_row>& node_rows() const override { return node_rows_; }

private:
  class api;
  struct node {
    peer_id id = 0;
    std::string address;
    std::filesystem::path dir, config;
    std::unique_ptr<node_process> proc;
    bool online = false;   // said "listening" and not stopped since
    bool stopping = false; // we stopped it (churn or the end)
    std::uint32_t incarnation = 0;
    std::uint32_t launches = 0;                // processes started (names its veth)
    std::set<std::uint32_t> held;              // catalog files it holds, verified on disk
    std::unique_ptr<std::ofstream> stdout_log; // with --keep: its stdout lines
  };
  struct timer {
    time_us t;
    std::uint64_t seq;
    int kind; // timer_kind
    std::uint32_t node;
    std::uint64_t a, b;
    bool operator>(const timer& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  struct hosted_driver {
    std::unique_ptr<sim::workload_driver> d;
    std::unique_ptr<sim::sim_api> api;
  };

  void plan();
  void write_files();
  void write_config(std::uint32_t n);
  void push(time_us t, int kind, std::uint32_t n, std::uint64_t a = 0, std::uint64_t b = 0);
  time_us scenario_now() const;
  void start_node(std::uint32_t n);
  void stop_node(std::uint32_t n, bool crash);
  void on_line(std::uint32_t n, const std::string& line);
  void on_exit(std::uint32_t n);
  void on_role_event(std::uint32_t n, const nlohmann::json& j);
  void add_counter(std::uint32_t n, const std::string& name, double v);
  void fire(const timer& t);
  void stop_all();
  void collect_rows();
  std::uint64_t issue(std::uint32_t n, const std::string& role, const std::string& verb,
                      const std::vector<std::string>& args);
  const char* intern(const std::string& s);

  sim::scenario spec_;
  options opt_;
  std::uint64_t seed_;
  std::filesystem::path dir_;
  bool made_dir_ = false;
  std::string network_ = "loopback", network_note_;
  std::vector<std::uint32_t> node_group_, group_first_;
  std::vector<node> nodes_;
  std::map<peer_id, std::uint32_t> by_peer_;
  sim::file_catalog catalog_;
  inbox inbox_;
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  std::uint64_t timer_seq_ = 0;
  std::uint64_t next_command_id_ = 1;
  std::map<std::uint64_t, std::uint32_t> driver_of_tick_;
  std::vector<hosted_driver> drivers_;
  rng workload_rng_, churn_rng_;
  std::vector<std::int32_t> churn_of_group_;
  sim::run_stats stats_;
  std::set<std::string> names_; // interned counter names (run_stats keys by pointer)
  std::vector<metric_row> series_;
  std::vector<event_row> recorded_;
  std::vector<node_row> node_rows_;
  bool events_truncated_ = false;
  std::uint64_t events_ = 0;
  time_us reached_ = 0;
  std::int64_t t0_us_ = 0;         // steady clock at scenario time 0
  std::int64_t start_unix_us_ = 0; // the same instant as Unix time (the nodes' shaping)
  double setup_s_ = 0, teardown_s_ = 0, all_up_s_ = 0;
  std::size_t first_up_ = 0; // nodes that have been online at least once
  std::atomic<bool> interrupted_{false};
  bool ended_ = false;
};

/// A finished live run as stored: its summary (with the testbed's own
/// section), its checkers' verdicts, and whether all passed.
struct recorded_run {
  nlohmann::json summary;
  std::vector<sim::verdict> verdicts;
  bool passed = true;
};

/// Summarises a finished live run, evaluates its checkers and appends it to `db`.
recorded_run record_run(const live_world& w, double wall_seconds, sim::results_db& db,
                        const std::string& commit);

} // namespace peerlab::app::testbed
