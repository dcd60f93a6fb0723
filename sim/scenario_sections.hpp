#pragma once
// The sections of a scenario file, one parser each (parse_scenario in
// sim/scenario.cpp calls them in file order). Each throws config_error naming
// the JSON path; a later section may refer to what an earlier one defined
// (groups by name, file sets by name).
#include "sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace peerlab::sim::sections {

using nlohmann::json;

void parse_groups(const json& groups, scenario& s);     // scenario_groups.cpp
void parse_network(const json& network, scenario& s);   // scenario_network.cpp
void check_group_regions(const scenario& s);            // scenario_network.cpp
void parse_churn(const json& churn, scenario& s);       // scenario_churn.cpp
void parse_workload(const json& workload, scenario& s); // scenario_workload.cpp
void parse_checkers(const json& checkers, scenario& s); // scenario_checkers.cpp
void parse_metrics(const json& metrics, scenario& s);   // scenario_checkers.cpp

/// A group name defined earlier (or "*" when allowed); returns it.
std::string group_ref(const json& v, const std::string& path, const scenario& s,
                      bool allow_any = false);
/// One group name or an array of them.
std::vector<std::string> group_list(const json& v, const std::string& path, const scenario& s);
/// {"up": RATE, "down": RATE}
void parse_bandwidth(const json& v, const std::string& path, double& up, double& down);

} // namespace peerlab::sim::sections
