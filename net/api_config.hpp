#pragma once
// The "api" object of a live node's config: the local HTTP API of the paid
// file market (net/market_api.hpp). Reference: docs/live.md "HTTP API".
//
//   "api": {"listen": "127.0.0.1:8080", "provide_dirs": ["shared"],
//           "download_dir": "downloads", "ledger": LEDGER_PEER_ID,
//           "ledger_address": "127.0.0.1:4000"}
#include "protocols/common/types.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace peerlab::net {

struct api_config {
  std::string listen = "127.0.0.1:0";
  /// Required on every state-changing route (http_server_options::token);
  /// `peerlab node` sets it from data_dir/api.token. Empty: none.
  std::string token = {};
  /// Files offered through the API must lie inside one of these (after
  /// resolving symbolic links). None: the API cannot provide files.
  std::vector<std::filesystem::path> provide_dirs;
  /// Downloads requested through the API are placed inside this folder.
  /// Default: data_dir/downloads.
  std::filesystem::path download_dir;
  /// The largest price the API accepts (provide) or pays (download).
  std::uint64_t max_price = 1'000'000'000'000ull;
  /// The largest amount a ledger node funds in one request.
  std::uint64_t max_fund = 1'000'000'000'000ull;
  /// The ledger whose balance /api/wallet/balance shows (0: none; a node
  /// running the ledger role asks itself).
  peer_id ledger = 0;
  std::string ledger_address; // "ip:port", learned by the transport if set
  std::size_t max_connections = 32;
  std::size_t max_body = 64 * 1024;      // request body bound
  time_us read_timeout = 10 * us_per_s;  // reading one request
  time_us reply_timeout = 30 * us_per_s; // waiting for the roles' answer
  time_us lookup_timeout = 2 * us_per_s; // waiting for providers' metadata
  time_us ledger_timeout = 5 * us_per_s; // waiting for the ledger's balance
  std::size_t max_list = 1000;           // rows per list answer
  std::size_t max_lookup_peers = 64;     // peers asked for metadata per lookup
};

/// Parses `j` (the value of "api"); relative folders are taken relative to
/// `base`. `data_dir` gives the default download folder. Errors name the
/// JSON path. A listen address other than a loopback one is refused unless
/// "allow_remote": true (the API reads and writes files and moves money).
/// Throws config_error.
api_config parse_api_config(const nlohmann::json& j, const std::string& path,
                            const std::filesystem::path& base,
                            const std::filesystem::path& data_dir);

} // namespace peerlab::net
