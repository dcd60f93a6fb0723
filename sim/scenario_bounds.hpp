#pragma once
// Validation of parameter combinations that would make a run meaningless:
// rates so small that a frame never leaves, churn that cycles without virtual
// time passing, runs longer than virtual time can count, metric series too
// long to keep. Each check throws config_error naming the JSON path, like the
// rest of the scenario parser.
#include "sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace peerlab::sim {

/// A bandwidth: "unlimited" (0) or at least limits::rate_bytes_per_s_min.
void check_rate(const nlohmann::json& v, double bytes_per_s, const std::string& path);

/// The duration is at most limits::scenario_us_max.
void check_duration(const nlohmann::json& v, time_us duration, const std::string& path);

/// A node that restarts must spend virtual time between two departures:
/// session and downtime together average at least 1 ms.
void check_churn_progress(const churn_spec& c, const std::string& path);

/// The metric series fits limits::metric_rows_max (at least groups + 4 rows
/// per sample, one sample per metrics.interval).
void check_metric_rows(const scenario& s);

} // namespace peerlab::sim
