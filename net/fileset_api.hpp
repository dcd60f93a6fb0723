#pragma once
// The REST API of the seed document (002), served by a live node with
// the one HTTP server (net/http_server.hpp) and answered by the node's "fileset" role:
//
//   POST /api/sets/{set_id}/files/{index}  {"content": "0x…", "setCount": N}
//        -> {"success": true, "hash": "…"}
//   GET  /api/sets/{set_id}/files/{index}
//        -> {"file": "0x…", "proof": {"proof": ["0x…", …], "index": i}, "treeSize": n, "root":
//        "0x…"}
//   PUT  /api/sets/{set_id}/raw/{index}?setCount=N   (application/octet-stream body)
//        -> {"success": true, "hash": "…"}
//   GET  /api/sets/{set_id}/raw/{index}
//        -> the file bytes; proof in headers X-Proof (comma-separated 0x hashes),
//           X-Proof-Index, X-Tree-Size, X-Merkle-Root
//   GET  /api/sets/{set_id}
//        -> {"setId", "setCount", "stored", "complete", "root"}
//
// Errors: 4xx/5xx with {"error": "…"} (400 bad input, 404 unknown or
// incomplete set, 405 method, 409 conflict, 413 body too large, 503 too many
// connections, 504 the role did not answer in time). Binds 127.0.0.1 by
// default; body size, connections and waiting time are bounded.
// Reference: docs/protocols/fileset.md "REST API".
#include "protocols/common/role.hpp"

#include <functional>
#include <memory>
#include <string>

namespace peerlab::net {

struct fileset_api_options {
  std::string listen = "127.0.0.1:0";
  std::size_t max_connections = 64;
  std::uint64_t max_file_bytes = 16ull << 20; // the raw body bound; JSON bodies get 2x + 64 KiB
  time_us reply_timeout = 30 * us_per_s;      // waiting for the role's answer
  time_us idle_timeout = 30 * us_per_s;       // reading a request
  /// Required on uploads (http_server_options::token); `peerlab node` sets
  /// it from data_dir/api.token. Empty: none (tests of other bounds).
  std::string token = {};
};

/// Command ids the API uses (far above the node's own download commands).
constexpr std::uint64_t fileset_api_first_command_id = 1ull << 48;

class fileset_api {
public:
  /// `submit` hands a command to the node's fileset role (false: no such role / stopped).
  using submit_fn = std::function<bool(const peerlab::command&)>;
  using log_fn = std::function<void(const std::string&)>;

  fileset_api(fileset_api_options opts, submit_fn submit, log_fn log = {});
  ~fileset_api(); // stops
  fileset_api(const fileset_api&) = delete;
  fileset_api& operator=(const fileset_api&) = delete;

  /// Binds and starts serving on its own thread. Throws std::runtime_error
  /// naming the address if it cannot bind.
  void start();
  /// Closes the listener and every connection, fails waiting requests, joins. Idempotent.
  void stop();
  /// The bound "ip:port" (after start).
  const std::string& address() const;

  /// Offers a role event (any thread). True if it answered one of the API's
  /// commands: it was consumed (the node does not print it).
  bool consume(const event& e);

  /// A command to connect the fileset role to a peer that said hello.
  static peerlab::command connect_command(peer_id peer);

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace peerlab::net
