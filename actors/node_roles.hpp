#pragma once
// Builds the roles of a node from their JSON description (scenario groups and
// live node configs share this format, see docs/scenarios.md "roles").
#include "protocols/common/role.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace peerlab {

/// A configuration error; `what()` names the JSON path and the problem.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// `spec` is an array whose items are a role name ("provider") or an object
/// {"role": "provider", ...parameters}. `path` prefixes error messages.
/// `adversary` (may be empty) names a misbehaviour applied to the roles that
/// support it. Throws config_error.
std::vector<std::shared_ptr<role>> make_roles(const nlohmann::json& spec, const std::string& path,
                                              const std::string& adversary);

/// Names of every role make_roles knows, for error messages and docs.
std::vector<std::string> known_roles();

/// Names of every adversary strategy, for error messages and docs.
std::vector<std::string> known_adversaries();

} // namespace peerlab
