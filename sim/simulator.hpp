#pragma once
// The deterministic simulator: implements the runtime seam for every
// simulated node, owns the one event queue ordered by (virtual time, sequence)
// for frame deliveries, timers, commands and churn, and runs the role actors
// on CAF's deterministic test scheduler.
//
// Two engines run the same roles: `actors` (the real CAF actor shells, the
// path live nodes use) and `direct` (calls the roles without CAF, as a plain
// event loop). Both give the same fingerprint; the benchmark compares them.
#include "actors/role_actor.hpp"
#include "actors/runtime/runtime.hpp"
#include "sim/event_queue.hpp"
#include "sim/fingerprint.hpp"
#include "protocols/common/memory_store.hpp"
#include "sim/network_model.hpp"
#include "sim/run_stats.hpp"
#include "sim/run_view.hpp"
#include "sim/scenario.hpp"
#include "sim/serial_link.hpp"
#include "sim/synthetic_content.hpp"
#include "sim/trace_recorder.hpp"
#include "sim/workload_driver.hpp"

#include <caf/scheduler/test_coordinator.hpp>

#include <exception>
#include <array>
#include <functional>
#include <unordered_map>
#include <memory>
#include <queue>
#include <stdexcept>
#include <string>
#include <vector>

namespace peerlab::sim {

enum class engine { actors, direct };

struct sim_options {
  engine eng = engine::actors;
  trace_recorder* recorder = nullptr; // chain checkpoints or steps (peerlab check); not owned
  bool progress = false;              // progress line on stderr
  /// Watchdog: events processed at one virtual time before the run stops as
  /// a livelock; 0 = the default (protocols/common/limits.hpp).
  std::uint64_t max_events_per_instant = 0;
  /// Rows of the metric series kept before sampling stops; 0 = the default.
  std::size_t max_metric_rows = 0;
  std::uint64_t seed_override = 0;
  bool has_seed_override = false;
  /// Optional observer of role events (tests, the events table).
  std::function<void(std::uint32_t node, time_us, const event&)> on_event;
};

/// A run that cannot go on: the watchdog saw a livelock. Like an invariant
/// violation it is a runtime failure (exit 3), not bad input.
struct watchdog_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class simulator final : public runtime, public run_view {
public:
  simulator(const scenario& s, sim_options opts);
  ~simulator() override;
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  /// Runs until the scenario's duration or until no event is left. Throws
  /// invariant_violation, watchdog_error or what a role threw (a runtime
  /// failure); the state reached so far stays readable.
  void run();

  const char* world() const override { return "sim"; }
  std::uint64_t seed() const override { return seed_; }
  const fingerprint& chain() const { return fp_; }
  std::string fingerprint_hex() const override { return fp_.hex(); }
  std::uint64_t event_count() const override { return fp_.events(); }
  const run_stats& stats() const override { return stats_; }
  const scenario& spec() const override { return spec_; }
  const file_catalog& catalog() const { return catalog_; }
  std::size_t node_count() const override { return nodes_.size(); }
  std::uint32_t group_of(std::uint32_t node) const override { return node_group_[node]; }
  bool online(std::uint32_t node) const { return nodes_[node].online; }
  time_us end_time() const override { return end_; }
  /// Virtual time reached: the end, or the event a failed run stopped at.
  time_us now_time() const override { return now_; }
  /// The watchdog's bound in effect for this run.
  std::uint64_t max_events_per_instant() const { return watchdog_bound_; }
  const std::vector<metric_row>& metric_series() const override { return series_; }
  const std::vector<event_row>& recorded_events() const override { return recorded_; }
  bool events_truncated() const override { return events_truncated_; }
  /// True if the metric series reached limits::metric_rows_max and sampling stopped.
  bool metrics_truncated() const override { return metrics_truncated_; }

  /// Protocol workload drivers and the api each one uses.
  std::size_t driver_count() const override { return drivers_.size(); }
  const workload_driver& driver(std::size_t i) const override { return *drivers_[i].driver; }
  const sim_api& driver_api(std::size_t i) const override { return *drivers_[i].api; }

  // -- runtime seam --------------------------------------------------------
  time_us now() const override { return now_; }
  void send(peer_id from, peer_id to, bytes frame) override;
  void after(peer_id self, port_t port, time_us delay, std::uint64_t token) override;
  void local_command(peer_id self, port_t to, command c) override;
  rng& random(peer_id self) override { return nodes_[self].random; }
  kv_store& store(peer_id self) override { return nodes_[self].store; }
  content_store& content(peer_id self) override { return *nodes_[self].content; }
  void metric(peer_id self, const effects::metric_sample& m) override;
  void emit(peer_id self, port_t port, event&& e) override;
  bool failed(peer_id self, const std::exception_ptr& error) override;

private:
  struct sim_event {
    time_us t;
    std::uint64_t seq;
    std::uint64_t a; // deliver/arrive: from node; timer: token; control: action
    std::uint32_t node;
    std::uint32_t slot; // frame or command slot
    std::uint32_t incarnation;
    event_kind kind;
    std::uint8_t port;
  };
  struct earlier {
    bool operator()(const sim_event& x, const sim_event& y) const {
      return x.t != y.t ? x.t < y.t : x.seq < y.seq;
    }
  };
  struct hosted_role {
    port_t port;
    std::shared_ptr<role> logic; // direct engine
    caf::actor actor;            // actors engine
  };
  struct node_state {
    bool online = false;
    std::uint32_t incarnation = 0;
    serial_link up, down; // FIFO serialisation queues of the node's links
    // When each of the last sessions ended (session k = incarnation / 2, at k %
    // size): a frame still queued for upload then never leaves.
    std::array<time_us, 4> session_end{};
    std::uint32_t link_epoch = 0; // bumped when its queues are dropped (FIFO marks start afresh)
    rng random;
    memory_store store;
    std::unique_ptr<synthetic_content> content;
    std::vector<hosted_role> roles;
  };
  // A command waiting in the queue: for a role by name (workloads, scenario
  // commands) or by port (another role of the node asked), or a reply event
  // on its way back to the role that asked.
  struct pending_command {
    std::string role;
    port_t port = 0;
    command cmd;
    std::optional<event> reply;
    port_t reply_from = 0;
  };
  enum control_action : std::uint64_t { sample_metrics = 1, churn_leave = 3, driver_tick = 4 };
  class api_for_driver;
  friend class api_for_driver;
  struct hosted_driver {
    std::unique_ptr<workload_driver> driver;
    std::unique_ptr<sim_api> api;
  };
  std::uint64_t queue_command(std::uint32_t node, pending_command pc);
  void run_command(sim_event& e, pending_command& pc);

  void push(sim_event e);
  /// What the simulator remembers about a frame in flight, by slot.
  struct frame_meta {
    time_us depart = 0; // its last byte left the sender's upload link
    std::uint32_t sender_incarnation = 0;
    std::uint32_t receiver_incarnation = 0; // set when it queues at a limited download link
    bool goodbye = false;                   // sent by a role's stop during a graceful leave
  };
  std::uint32_t store_frame(bytes&& b, const frame_meta& m);
  void transmit(std::uint32_t from, std::uint32_t to, bytes frame, const frame_meta& m,
                const link::copy_fate& c);
  bool sender_gone(std::uint32_t from, const frame_meta& m) const;
  bool arrives(const sim_event& e); // checks at the end of the path; counts what it drops
  void process(sim_event& e);
  void deliver(sim_event& e);
  void node_up(std::uint32_t n);
  void node_down(std::uint32_t n, bool crash);
  void apply_direct(std::uint32_t node, port_t port, effects& fx);
  /// Hands one input to role `h` of node `n` with the engine in use: `msg` to
  /// its CAF actor (then drained), or `direct(role, context, effects)` called
  /// on the role itself and its effects applied.
  template <class Direct, class... Msg>
  void to_role(std::uint32_t n, hosted_role& h, Direct&& direct, Msg&&... msg);
  hosted_role* find_role(std::uint32_t node, port_t port);
  hosted_role* find_role(std::uint32_t node, const std::string& name);
  void place_files();
  void queue_scenario_commands();
  void make_drivers();
  void schedule_control(time_us t, std::uint32_t node, std::uint64_t action, std::uint32_t arg);
  void take_metric_sample();
  std::uint64_t final_state_digest() const; // sim/final_state.cpp
  void drain();
  void show_progress(bool final);
  void watchdog(const sim_event& e);

  scenario spec_;
  sim_options opts_;
  std::uint64_t seed_;
  time_us now_ = 0;
  time_us end_ = 0;
  std::uint64_t seq_ = 0;
  quad_heap<sim_event, earlier> queue_; // ordered by (virtual time, sequence)
  std::vector<bytes> frames_;
  std::vector<frame_meta> meta_;   // by frame slot
  std::int64_t leaving_node_ = -1; // the node whose roles run stop (its frames are goodbyes)
  std::vector<std::uint32_t> free_frames_;
  std::map<std::uint64_t, pending_command> commands_;
  std::vector<node_state> nodes_;
  std::vector<std::uint32_t> node_group_;
  std::vector<std::uint32_t> group_first_; // first node index of each group
  std::unique_ptr<network_model> net_;
  rng net_rng_, churn_rng_, workload_rng_, placement_rng_;
  struct fifo_mark {
    time_us last = 0;        // arrival of the latest frame on the link
    std::uint32_t epoch = 0; // the sender's link epoch when it was sent
  };
  std::unordered_map<std::uint64_t, fifo_mark> link_clock_; // FIFO links, by (from, to)
  std::vector<std::int32_t> churn_of_group_;                // churn spec index per group or -1
  file_catalog catalog_;
  sink_budget sinks_;
  fingerprint fp_;
  run_stats stats_;
  std::vector<metric_row> series_;
  std::vector<event_row> recorded_;
  bool events_truncated_ = false;
  bool metrics_truncated_ = false;
  std::exception_ptr failure_; // thrown inside an actor, rethrown by drain()
  std::uint64_t watchdog_bound_ = 0;
  std::uint64_t events_at_now_ = 0; // processed at the current virtual time
  effects direct_fx_;
  std::uint64_t next_command_id_ = 1;
  std::vector<hosted_driver> drivers_;
  std::map<std::uint64_t, std::uint64_t> driver_args_; // tick argument by event sequence
  // CAF (actors engine only).
  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> caf_sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  // Progress display.
  std::int64_t wall_start_ns_ = 0, wall_last_ns_ = 0;
};

} // namespace peerlab::sim
