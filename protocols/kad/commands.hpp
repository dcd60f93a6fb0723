#pragma once
// The commands of a Kademlia node, as types. Text forms (scenario files, node
// configs, the CLI) are parsed in one place, parse_command().
#include "protocols/common/command.hpp"
#include "protocols/kad/ids.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::kad {

/// A node to join through: its peer id and, live, its address.
struct seed_contact {
  peer_id peer = 0;
  std::string address;
};

/// Joins the network through `seeds` (or the seeds of the last bootstrap).
/// Replies bootstrap_done.
struct bootstrap {
  static constexpr std::string_view verb = "bootstrap";
  std::vector<seed_contact> seeds;
  void describe(std::string& out) const;
};

/// Finds the k closest nodes to `target`. Replies nodes_found.
struct find_node {
  static constexpr std::string_view verb = "find_node";
  kad_id target{};
  void describe(std::string& out) const;
};

/// Finds providers of `key`; `want` = 0 asks for all it can find, otherwise
/// the lookup stops once it has that many. Replies providers_found.
struct find_providers {
  static constexpr std::string_view verb = "find_providers";
  kad_id key{};
  std::size_t want = 0;
  void describe(std::string& out) const;
};

/// Announces this node as a provider of `key` and republishes it. Replies
/// provide_done (or provide_failed when no peer stored the record).
struct provide {
  static constexpr std::string_view verb = "provide";
  kad_id key{};
  void describe(std::string& out) const;
};

/// Stops announcing `key`. Replies provide_stopped.
struct stop_providing {
  static constexpr std::string_view verb = "stop_providing";
  kad_id key{};
  void describe(std::string& out) const;
};

using command = std::variant<bootstrap, find_node, find_providers, provide, stop_providing>;

/// Text form: bootstrap [PEER[@ADDRESS]...], find_node ID, find_providers KEY
/// [COUNT], provide KEY, stop_providing KEY; KEY and ID are 64 hex digits or
/// "http_proxy_providers".
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::kad
