#pragma once
// Random distributions as written in scenario files:
// {"dist": "exponential", "mean": "30s"}. Values are durations (µs) or plain
// numbers, depending on where they are used.
#include "protocols/common/rng.hpp"
#include "protocols/common/types.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace peerlab::sim {

struct distribution {
  enum class kind { constant, uniform, normal, lognormal, exponential, pareto, weibull };
  kind k = kind::constant;
  double a = 0; // constant: value; uniform: min; normal: mean; lognormal: median; exponential:
                // mean; pareto: min; weibull: scale
  double b = 0; // uniform: max; normal: stddev; lognormal: sigma; pareto: shape; weibull: shape
  double offset = 0; // added to every sample ("min" of exponential)

  double sample(rng& r) const;
  double mean() const;
  /// The 99.9th percentile (before samples are clamped at 0).
  double p999() const;
  std::string describe(bool durations) const;
};

/// Parses a distribution whose parameters are durations (result in µs).
distribution parse_duration_dist(const nlohmann::json& v, const std::string& path);

/// Parses a distribution whose parameters are sizes ("64KiB" or bytes; result in bytes).
distribution parse_size_dist(const nlohmann::json& v, const std::string& path);

/// The names accepted in "dist".
const char* distribution_names();

} // namespace peerlab::sim
