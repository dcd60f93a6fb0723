#pragma once
// Protocol-specific workloads and checkers plug into the simulator here, so
// a protocol adds files instead of editing the simulator core.
//
// A scenario's workload item {"kind": "<kind>", ...} whose kind is not built in
// is looked up in the driver registry (sim/drivers.cpp); the driver validates
// its JSON at parse time and runs during the simulation: it schedules ticks,
// issues commands to roles, observes role events, and evaluates the checkers
// it owns ({"check": "<name>", ...}).
#include "protocols/common/role.hpp"
#include "sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::sim {

class simulator;
class file_catalog;
struct verdict;

/// What a driver may do with the simulator.
class sim_api {
public:
  virtual ~sim_api() = default;
  virtual time_us now() const = 0;
  virtual time_us end_time() const = 0;
  virtual const scenario& spec() const = 0;
  /// The workload generator (its own seed stream, shared by drivers in event order).
  virtual rng& workload_rng() = 0;
  /// The run's seed (after any --seed override), for a driver's own streams.
  virtual std::uint64_t run_seed() const = 0;
  virtual std::size_t node_count() const = 0;
  virtual std::uint32_t group_of(std::uint32_t node) const = 0;
  /// Node index range [first, last) of a group; throws if unknown.
  virtual std::pair<std::uint32_t, std::uint32_t> group_nodes(const std::string& group) const = 0;
  virtual bool online(std::uint32_t node) const = 0;
  /// Delivers a command to the role named `role` of `node` now (through the
  /// event queue). Returns the command id (0 if the node is offline or has no such role).
  virtual std::uint64_t issue_command(std::uint32_t node, const std::string& role,
                                      const std::string& verb, std::vector<std::string> args) = 0;
  /// Calls the driver's tick(node, arg) at virtual time t.
  virtual void schedule(time_us t, std::uint32_t node, std::uint64_t arg) = 0;
  /// Adds to the run's counters (summary, results file, metric checkers).
  virtual void count(const char* name, double delta, std::uint32_t group) = 0;
  virtual void observe(const char* name, double value, std::uint32_t group) = 0;
  /// The files of the scenario's file sets and the nodes that first held them.
  virtual const file_catalog& catalog() const = 0;
  /// Whether `node`'s content store holds catalog file `file` (complete and verified).
  virtual bool holds(std::uint32_t node, std::uint32_t file) const = 0;
  /// The role named `name` running on `node`, or nullptr (offline or no such
  /// role). Read-only, between events: for drivers that sample role state.
  virtual const role* role_of(std::uint32_t node, const std::string& name) const = 0;
  /// The rows `node` keeps across crashes (online or not): what its roles
  /// would restore. Read-only, between events.
  virtual const kv_store& store_of(std::uint32_t node) const = 0;
  /// Where `node` is (x, y in km) when the latency model is geographic;
  /// nullopt otherwise. For workloads that tell roles their location.
  virtual std::optional<std::pair<double, double>> node_point(std::uint32_t node) const {
    (void)node;
    return std::nullopt;
  }
  /// How commands name `node` as a peer: its peer id in decimal. In the
  /// simulator a node's peer id is its index; live (peerlab testbed) it is the
  /// id its key proves, so drivers never write node indices into arguments.
  virtual std::string peer_arg(std::uint32_t node) const { return std::to_string(node); }
  /// The node whose peer id is `text` (a field of a role event), or nullopt.
  virtual std::optional<std::uint32_t> node_of_peer(const std::string& text) const {
    std::uint64_t v = 0;
    if (text.empty() || text.size() > 19)
      return std::nullopt;
    for (char ch : text) {
      if (ch < '0' || ch > '9')
        return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    if (v >= node_count())
      return std::nullopt;
    return static_cast<std::uint32_t>(v);
  }
  /// The propagation part of the round trip between two nodes (twice the
  /// link's base latency: no jitter, no queueing), for reports.
  virtual time_us base_rtt(std::uint32_t a, std::uint32_t b) const {
    (void)a;
    (void)b;
    return 0;
  }
};

class workload_driver {
public:
  virtual ~workload_driver() = default;
  /// Called once before the run: schedule the first ticks.
  virtual void start(sim_api&) {}
  virtual void tick(sim_api&, std::uint32_t node, std::uint64_t arg) = 0;
  virtual void on_event(sim_api&, std::uint32_t /*node*/, const event&) {}
  virtual void on_node_up(sim_api&, std::uint32_t /*node*/) {}
  virtual void on_node_down(sim_api&, std::uint32_t /*node*/, bool /*crash*/) {}
  /// A node committed a downloaded file; `intact` is the simulator's own re-hash.
  virtual void on_commit(sim_api&, std::uint32_t /*node*/, const digest&, bool /*intact*/) {}
  /// Evaluates a checker this driver owns; returns false if it does not own it.
  virtual bool evaluate(const sim_api&, const checker_spec&, verdict&) const { return false; }
  /// Adds the driver's figures to the run summary (stored in the results file).
  virtual void summarize(const sim_api&, nlohmann::json& /*summary*/) const {}
  /// Run-wide figures by name: metric checkers without a group read them, and
  /// every metrics sample records them under group "*".
  virtual std::vector<std::pair<std::string, double>> totals(const sim_api&) const { return {}; }
};

struct driver_kind {
  /// Validates the workload item (throws config_error naming the path) and
  /// returns a factory for the running driver.
  std::function<void(const nlohmann::json& item, const std::string& path, const scenario& so_far)>
    validate;
  std::function<std::unique_ptr<workload_driver>(const nlohmann::json& item, const scenario& s)>
    make;
  /// Checker names this kind evaluates (so scenario validation accepts them).
  std::vector<std::string> checkers;
  /// Instead of `make`: one driver serves every item of this kind, and it also
  /// runs when the scenario names one of its checkers without any item.
  std::function<std::unique_ptr<workload_driver>(const scenario& s)> make_once;
  /// Optional: validates a checker of this kind at parse time (throws
  /// config_error naming the path) and fills the spec's common fields.
  std::function<void(checker_spec& c, const std::string& path, const scenario& so_far)>
    parse_checker;
};

/// All registered kinds (sim/drivers.cpp).
const std::map<std::string, driver_kind>& driver_kinds();

} // namespace peerlab::sim
