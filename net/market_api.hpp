#pragma once
// The local HTTP API of a live node of the paid file market (the
// backend of the desktop application), served on
// 127.0.0.1 with JSON. Route names follow the original's
// (/api/file/..., /api/wallet/...); reference with examples: docs/live.md
// "HTTP API".
//
//   GET  /api/health
//   POST /api/file/provide-file            {"file_path", "name"?, "price"?}
//   POST /api/file/stop-providing/HASH
//   GET  /api/file/get-provided-files
//   GET  /api/file/get-providers/HASH      metadata from known peers and the DHT
//   POST /api/file/download-file           {"file_id", "dest_path", "peer_id"?, "max_price"?}
//   GET  /api/file/get-downloaded-files
//   GET  /api/wallet/balance[?account=ID]
//   GET  /api/wallet/payments
//   POST /api/ledger/fund                  {"account", "amount"}            (ledger nodes)
//
// Every request is validated completely before anything changes; a bad one
// gets {"error": "...", "status": N}. Then it becomes commands to the node's
// roles through the actor system (the account role, the downloader with its
// metadata lookup, kad, the ledger), and the answer is built from the events
// that carry the command's id. Files are hashed on a thread of the API, not
// on the node's actor thread.
#include "net/api_config.hpp"
#include "net/disk_content.hpp"
#include "protocols/common/role.hpp"

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace peerlab::net {

/// Command ids the API uses (above the node's own and the file-set API's).
constexpr std::uint64_t market_api_first_command_id = 1ull << 50;

/// What the API needs of its node.
struct market_api_node {
  std::string name;
  peer_id self = 0;
  std::set<port_t> ports; // the node's own roles, before install_roles added the API's
  /// Hands a command to the role on `port` (false: no such role, or stopped).
  /// The text form of a command for the role on a port; the error if it was
  /// refused (code unavailable: no such role or the node is not running).
  std::function<std::optional<command_error>(port_t, std::uint64_t id, std::string verb,
                                             std::vector<std::string> args)>
    submit;
  /// The node's listen address (for /api/health).
  std::function<std::string()> address;
  disk_content* files = nullptr; // where verified downloads were saved
};

class market_api {
public:
  using log_fn = std::function<void(const std::string&)>;

  market_api(api_config cfg, market_api_node node, log_fn log = {});
  ~market_api(); // stops
  market_api(const market_api&) = delete;
  market_api& operator=(const market_api&) = delete;

  /// Binds and serves. Throws std::runtime_error naming the address.
  void start();
  void stop();
  const std::string& address() const;

  /// Offers a role event (any thread). Events answering the API's commands
  /// are taken; returns true for those that should not be printed (the
  /// account's and the lookups', which carry JSON lists).
  bool consume(port_t port, const event& e);
  /// A peer finished its hello (any thread): it is asked in lookups.
  void peer_seen(peer_id id, const std::string& address);

  /// Adds the API's roles to a node's: the account role (market::account,
  /// serving files through the node's content store), and the metadata lookup
  /// around the downloader (or alone). A node that runs the ledger role and
  /// names no other ledger asks itself for balances.
  static void install_roles(const api_config& cfg, std::vector<std::shared_ptr<role>>& roles,
                            peer_id self);

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace peerlab::net
