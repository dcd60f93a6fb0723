#pragma once
// The file-set role's local commands (what the REST API, the simulator's
// workload and tests ask of a node), as types; text forms parsed here only.
#include "protocols/common/command.hpp"
#include "protocols/common/peer_list.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::fileset {

/// Stores file `index` of set `set` (of `count` files) and publishes it.
/// Replies fileset_put.
struct put_file {
  static constexpr std::string_view verb = "put";
  std::string set;
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  bytes content;
  void describe(std::string& out) const;
};

/// File `index` of a complete set with its inclusion proof. Replies
/// fileset_file.
struct get_file {
  static constexpr std::string_view verb = "get";
  std::string set;
  std::uint32_t index = 0;
  void describe(std::string& out) const {
    describe_arg(out, set);
    describe_arg(out, index);
  }
};

/// How much of a set this node holds. Replies fileset_status.
struct set_status {
  static constexpr std::string_view verb = "status";
  std::string set;
  void describe(std::string& out) const { describe_arg(out, set); }
};

/// Adds or removes peers to gossip and back-sync with. Replies command_done.
using peerlab::connect_peers;
using peerlab::disconnect_peers;

/// Runs one back-sync round now. Replies command_done.
struct sync_now {
  static constexpr std::string_view verb = "sync";
  void describe(std::string&) const {}
};

using command =
  std::variant<put_file, get_file, set_status, connect_peers, disconnect_peers, sync_now>;

/// Text form: put SET INDEX COUNT HEX, get SET INDEX, status SET,
/// connect PEER..., disconnect PEER..., sync. `max_file_bytes` bounds put.
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     std::size_t max_file_bytes, command_error& err);

} // namespace peerlab::fileset
