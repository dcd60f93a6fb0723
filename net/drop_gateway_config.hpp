#pragma once
// The JSON configuration of one side of the HTTP-over-file-drop gateway
// (`peerlab drop-gateway --config FILE`). Reference and example: docs/live.md,
// "File-drop gateways". Errors name the JSON path; unknown keys are rejected.
#include "net/address.hpp"
#include "protocols/droplog/droplog.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace peerlab::net {

struct drop_gateway_config {
  enum class side_t { a, b };
  side_t side = side_t::a;
  std::string name, peer;                // node names; ids are SHA-256 prefixes (peer_id_from_name)
  std::filesystem::path out_dir, in_dir; // write here (mirror source) / read here (mirror target)
  std::optional<std::filesystem::path> state_db; // SQLite rows: the log survives restarts
  address listen{"127.0.0.1", 0}; // side a: HTTP clients connect here (loopback only)
  address upstream;               // side b: the HTTP server requests are performed against
  time_us request_timeout = 120 * us_per_s; // side a: 504 after this
  time_us upstream_timeout = 60 * us_per_s; // side b: 504 from b after this
  std::uint64_t max_body = 128u << 20;      // request and response bodies
  std::size_t max_connections = 256;        // side a: open client connections
  std::size_t max_upstream_in_flight = 32;  // side b: concurrent upstream calls (more wait)
  std::size_t max_upstream_queue = 1024;    // side b: waiting calls (more get 503)
  time_us poll_interval = 10 * us_per_ms;   // folder scan period
  time_us metrics_interval = 5 * us_per_s;  // a metrics JSON line this often (0: only at exit)
  std::optional<time_us> run_for;
  droplog::session_config session; // key, encryption, packet sizes (local/remote set from names)
};

/// Relative paths are taken relative to `base_dir`. Throws config_error
/// (protocols/common/config_fields.hpp) naming the path and the problem.
drop_gateway_config parse_drop_gateway_config(const nlohmann::json& j,
                                              const std::filesystem::path& base_dir);
/// Parses config text (net/config_text.hpp: bounded size and nesting, no NUL
/// byte), then parse_drop_gateway_config. Throws config_error.
drop_gateway_config parse_drop_gateway_config_text(std::string_view text,
                                                   const std::filesystem::path& base_dir);
/// Reads and parses a side's config file; paths are relative to its folder.
/// Throws config_error (the message starts with the file name).
drop_gateway_config load_drop_gateway_config(const std::filesystem::path& file);

} // namespace peerlab::net
