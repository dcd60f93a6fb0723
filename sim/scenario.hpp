#pragma once
// A scenario file, parsed and validated. Every field is documented in
// docs/scenarios.md; parse errors name the JSON path and what was expected.
#include "sim/distribution.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::sim {

struct fault_rates {
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;
  time_us reorder_delay = 50 * us_per_ms;
  double truncate = 0; // per frame, cut at a uniformly random byte
  double corrupt = 0;  // per frame, one bit flipped
  // Size-dependent truncation: each byte ends the frame with hazard
  // 1/truncate_scale, so P(cut | size) = 1 - exp(-size / truncate_scale).
  std::uint64_t truncate_scale = 0; // bytes; 0 = off
  double corrupt_per_byte = 0;      // each byte gets one bit flipped with this probability
};

struct region {
  std::string name;
  double x_km = 0, y_km = 0, radius_km = 0;
};

struct latency_model {
  bool geographic = false;
  distribution dist;           // non-geographic: a link's base delay, drawn once per pair
  std::vector<region> regions; // geographic
  double km_per_ms = 100;      // geographic: signal speed with route inflation
  distribution access;         // geographic: per-node access delay (sampled once per node)
  // Added per frame to the link's base (both models).
  distribution jitter{distribution::kind::exponential, 1.0 * us_per_ms};
};

struct link_rule {
  std::string from, to; // group names; "*" = any
  fault_rates faults;
};

struct partition {
  std::string a, b;
  time_us from = 0, until = 0;
  bool a_to_b = true, b_to_a = true;
};

struct group_spec {
  std::string name;
  std::uint64_t count = 0;
  nlohmann::json roles;              // validated by make_roles
  std::string adversary;             // empty = honest
  double up_bps = -1, down_bps = -1; // -1 = network default, 0 = unlimited
  std::string region;                // geographic model; empty = random region
  time_us start = 0;                 // nodes come up at start + uniform(0, start_spread)
  time_us start_spread = 0;
};

struct churn_spec {
  std::string group;
  distribution session;
  distribution downtime;
  double crash = 1.0; // share of departures that are crashes (rest leave gracefully)
  bool restart = true;
};

struct file_set_spec {
  std::string name;
  std::uint64_t count = 0;
  std::uint64_t size = 0;
  std::vector<std::string> providers; // groups whose nodes may hold the files
  std::uint64_t replicas = 0;         // 0 = every node of those groups
  std::uint64_t price = 0;
};

struct command_spec {
  std::string group; // every node of the group
  time_us at = 0;
  std::string role; // role name (port) that receives it
  std::string verb;
  std::vector<std::string> args;
};

struct checker_spec {
  std::string check;
  nlohmann::json raw; // the item as written (for checkers owned by drivers)
  double min = 0, max = 0;
  bool has_min = false, has_max = false;
  std::string metric;
  std::string group;
  time_us grace = 60 * us_per_s; // how close to the end an unfinished action is excused
};

struct scenario {
  std::string name;
  std::string description;
  std::string source_text; // the file as written
  std::uint64_t seed = 1;
  time_us duration = 0;
  std::vector<group_spec> groups;
  latency_model latency;
  double default_up_bps = 0, default_down_bps = 0; // 0 = unlimited
  std::uint32_t frame_overhead = 40;
  bool fifo_links = true;
  fault_rates faults;
  std::vector<link_rule> links;
  std::vector<partition> partitions;
  std::vector<churn_spec> churn;
  std::vector<file_set_spec> file_sets;
  std::vector<command_spec> commands;
  /// Workload items of protocol drivers (sim/workload_driver.hpp), in file order.
  struct driver_item {
    std::string kind;
    nlohmann::json item;
  };
  std::vector<driver_item> driver_items;
  std::vector<checker_spec> checkers;
  time_us metrics_interval = 10 * us_per_s;
  bool record_events = false;
  /// The optional "fuzz" section as written; sim/fuzz.hpp reads it.
  nlohmann::json fuzz;
  /// The optional "parity" section as written (sim/parity.hpp).
  nlohmann::json parity;

  std::uint64_t node_count() const;
  const group_spec* find_group(const std::string& n) const;
  /// The resolved parameters, as stored in the results file and printed.
  nlohmann::json resolved() const;
};

/// Parses and validates; throws config_error naming the path.
scenario parse_scenario(const std::string& text, const std::string& origin);
scenario load_scenario(const std::string& path);

/// The checks known to the simulator and its drivers, for docs and errors.
std::string checker_names();

} // namespace peerlab::sim
