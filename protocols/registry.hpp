#pragma once
// Every protocol module (protocols/common/module.hpp) and what is derived from
// them: building a node's roles from JSON, port names, the known roles and
// adversaries. Adding a protocol adds one line to registry.cpp.
#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace peerlab {

/// Every module, in registry order. The first call checks that no two modules
/// share a port, a role name or a table name (invariant_violation otherwise).
const std::vector<const module*>& modules();

/// The role entry named `name`, or nullptr.
const role_entry* find_role(std::string_view name);

/// `spec` is an array whose items are a role name ("provider") or an object
/// {"role": "provider", ...parameters}. `path` prefixes error messages.
/// `adversary` (may be empty) names a misbehaviour: each role that implements
/// it gets it, the others stay honest, and one role at least must implement
/// it. Throws config_error.
std::vector<std::shared_ptr<role>> make_roles(const nlohmann::json& spec, const std::string& path,
                                              const std::string& adversary);

/// Names of every role make_roles knows, for error messages and docs.
std::vector<std::string> known_roles();

/// Names of every adversary strategy, sorted, for error messages and docs.
std::vector<std::string> known_adversaries();

/// Short name of a port for traces and error messages ("unknown" if no module has it).
const char* port_name(port_t p);

} // namespace peerlab
