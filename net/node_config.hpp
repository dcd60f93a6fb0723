#pragma once
// The JSON configuration of one live node (`peerlab node --config FILE`).
// Reference and example: docs/live.md. Errors name the JSON path and what was
// expected; unknown keys are rejected.
#include "protocols/registry.hpp" // config_error
#include "net/api_config.hpp"
#include "net/cdn_site_config.hpp"
#include "net/disk_content.hpp" // provide_spec
#include "net/drop_node_config.hpp"
#include "protocols/common/role.hpp"
#include "protocols/common/sha256.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::net {

struct download_spec {
  digest hash{};
  std::vector<std::string> providers; // normalised "host:port"; empty: found through the DHT
};

/// Faults on real sockets: a scenario's network applied to this node's
/// outgoing frames (sim/live_shaper.hpp, docs/live.md "Shaping live traffic").
struct shaping_config {
  std::filesystem::path scenario;    // a scenario file; its network section applies
  std::optional<std::uint64_t> seed; // the run seed; default: the scenario's
  std::uint32_t node = 0;            // this node's index in `peers`
  std::vector<peer_id> peers;        // node index -> peer id, in scenario order
  std::int64_t start_unix_us = 0;    // scenario time 0, as Unix time (µs)
  double time_scale = 1;             // wall seconds per scenario second
};

struct node_config {
  std::string name;
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> peers; // normalised "host:port"
  std::filesystem::path data_dir;
  std::vector<std::shared_ptr<role>> roles;
  std::vector<provide_spec> provide;
  std::uint64_t seed = 0; // 0: derived from the peer id
  std::vector<download_spec> downloads;
  bool exit_when_done = false;
  std::optional<time_us> run_for;
  time_us provider_wait = 10 * us_per_s;
  /// REST API of the fileset role (net/fileset_api.hpp): "ip:port" to serve on.
  std::optional<std::string> fileset_http;
  /// Local HTTP API of the paid file market (net/market_api.hpp).
  std::optional<api_config> api;
  /// Kademlia (kad role): bootstrap nodes, dialed at start; their peer ids
  /// come from the hello. Empty: this node is a first (bootstrap) node.
  std::vector<std::string> kad_bootstrap;
  /// Kademlia: announce every provided file (key = its SHA-256) once joined.
  bool dht_provide = false;
  /// No TLS: peer ids are derived from `name` and claimed, never proven
  /// (measurements against TLS, tests). Default: TLS 1.3 with the key in
  /// data_dir/node.key.
  bool plaintext = false;
  /// proxy_client role: the loopback "ip:port" of the local proxy the user
  /// points curl or a browser at (net/proxy_shell.hpp).
  std::optional<std::string> proxy_listen;
  /// proxy_provider role: clients may reach loopback and private addresses
  /// through the forward proxy (tests with local origins only).
  bool proxy_allow_internal = false;
  /// The CDN's demo site and live signalling server (net/cdn_site.hpp):
  /// needs the cdn_origin role; its WebSocket needs cdn_signal.
  std::optional<cdn_site_config> cdn_site;
  /// "control": "stdin": role commands arrive as JSON lines on stdin, and
  /// the end of stdin stops the node (apps/peerlab/node_control.hpp).
  bool control_stdin = false;
  /// Peers whose addresses are known before they are met (peerlab testbed):
  /// learned at start, dialed only when a role sends to them.
  std::vector<std::pair<peer_id, std::string>> address_book;
  /// Shaping of outgoing frames by a scenario's network (testbeds).
  std::optional<shaping_config> shaping;
  /// The droplog role's frames as packet files in folders (net/drop_transport.hpp).
  std::optional<drop_folders_config> drop_folders;
  /// An HTTP gateway over the droplog role (side a listener or side b upstream).
  std::optional<drop_http_config> drop_http;
  /// The node's SQLite file instead of data_dir/node.db (set by
  /// `peerlab drop-gateway` from its state_db; not a JSON key).
  std::optional<std::filesystem::path> db_file;
};

/// Relative paths (data_dir, provide) are taken relative to `base_dir`.
/// Throws config_error.
node_config parse_node_config(const nlohmann::json& j, const std::filesystem::path& base_dir);

/// Parses config text (net/config_text.hpp: bounded size and nesting, no NUL
/// byte), then parse_node_config. Throws config_error.
node_config parse_node_config_text(std::string_view text, const std::filesystem::path& base_dir);

/// Reads and parses a config file; paths are relative to the file's folder.
/// Throws config_error (the message starts with the file name).
node_config load_node_config(const std::filesystem::path& file);

} // namespace peerlab::net
