#pragma once
// The file-drop scenarios, loaded from scenarios/ and varied in
// code (truncation rate, timeout design, churn) for the simulator tests.
#include "sim/checkers.hpp"
#include "sim/simulator.hpp"
#include "sim/summary.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace peerlab::drop_test {

inline nlohmann::json load_json(const std::string& relative) {
  std::ifstream in(std::string(PEERLAB_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

/// Sets a parameter of the droplog role in both sides' groups.
inline void set_role_param(nlohmann::json& s, const std::string& key, const nlohmann::json& value) {
  for (auto& g : s["groups"])
    if (g["name"] == "side_a" || g["name"] == "side_b")
      g["roles"][0][key] = value;
}

struct drop_outcome {
  std::string fingerprint;
  std::vector<sim::verdict> verdicts;
  nlohmann::json summary; // the run summary, with "droplog" from the driver
};

inline drop_outcome run_drop(const nlohmann::json& j, sim::engine eng = sim::engine::actors) {
  sim::sim_options o;
  o.eng = eng;
  sim::simulator s(sim::parse_scenario(j.dump(), "test"), o);
  s.run();
  return {s.chain().hex(), sim::evaluate_checkers(s), sim::summarize(s, 0)};
}

inline std::string failures(const std::vector<sim::verdict>& v) {
  std::string out;
  for (auto& x : v)
    if (!x.passed)
      out += x.check + ": " + x.detail + "\n";
  return out;
}

} // namespace peerlab::drop_test
