#pragma once
// A protocol as one descriptor: everything the rest of peerlab needs to know
// about it. protocols/<x>/module.cpp fills one, and protocols/registry.cpp lists
// every module on one line each; node configs, scenario groups, traces, table
// docs and their tests all read the registry instead of naming protocols.
#include "protocols/common/role.hpp"
#include "protocols/common/table.hpp"

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace peerlab {

/// Builds a role from its JSON parameters (the object {"role": name, ...} of a
/// scenario group or a node config, or {} when the role is named alone).
/// `path` prefixes error messages (throws config_error). `adversary` is the
/// node's misbehaviour if this role implements it, else empty.
using role_factory = std::function<std::shared_ptr<role>(
  const nlohmann::json& params, const std::string& path, const std::string& adversary)>;

struct role_entry {
  /// The name node configs and scenario groups use ("provider").
  std::string name;
  role_factory make;
  /// Misbehaviours this role implements (a group's "adversary").
  std::vector<std::string> adversaries;
  /// Smallest valid parameters, as JSON text: docs and the registry's tests build
  /// every role from it.
  std::string example;
};

struct port_entry {
  port_t port;
  std::string name; // in traces and error messages
};

struct module {
  /// The folder under protocols/.
  std::string name;
  /// Its page, relative to the repository: wire format, commands, parameters, policy.
  std::string doc;
  /// Ports its roles listen on; no two modules share one.
  std::vector<port_entry> ports;
  std::vector<role_entry> roles;
  /// Every table its roles may declare (docs/tables.md lists each).
  std::vector<const table_schema*> tables;
};

} // namespace peerlab
