#pragma once
// The live implementation of the runtime seam for ONE node: its own CAF
// actor_system (sharing scheduler, one worker, so the roles of a node never
// run at the same time), an Asio io_context on its own thread, a TCP acceptor
// on the configured address, outgoing connections on demand. Frames from the
// network go to the role registered for their port (frame byte 0).
//
// Threads: role actors call send/after/metric/emit from the CAF worker; the io
// thread owns every socket and connection table; the two meet through
// boost::asio::post (CAF -> Asio) and caf::anon_send (Asio -> CAF).
#include "actors/runtime/frame_shaper.hpp"
#include "actors/runtime/runtime.hpp"
#include "net/drop_transport.hpp"
#include "net/identity.hpp"
#include "net/local_peers.hpp"
#include "net/net_limits.hpp"
#include "protocols/common/rng.hpp"

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace peerlab::net {

/// How many connections a node holds and how long it waits for them
/// (live_limits by default; tests shrink them to reach the edges quickly).
struct connection_bounds {
  std::size_t connections_max = live_limits::connections_max;
  std::size_t per_ip_max = live_limits::connections_per_ip_max;
  time_us idle_evict_after = live_limits::idle_evict_after;
  time_us handshake_timeout = live_limits::handshake_timeout;
  time_us idle_timeout = live_limits::idle_timeout;
  std::size_t send_budget = live_limits::node_queue_bytes_max;
  time_us write_stall = live_limits::write_stall_max;
};

struct live_options {
  std::string name; // a label for logs; the peer id comes from `identity`
  /// The node's key: every connection runs TLS 1.3 and each peer's id is the
  /// one its key proves (net/identity.hpp). Null: plain TCP, ids are claimed,
  /// not proven, and derived from `name` (tests and measurements only).
  std::shared_ptr<const node_identity> identity;
  std::string listen = "127.0.0.1:0"; // explicit bind address; port 0 = any free port
  std::vector<std::string> peers;     // addresses dialed at start (and redialed when lost)
  std::uint64_t seed = 0;             // the node's rng; 0 = derived from the peer id
  std::vector<std::shared_ptr<role>> roles;
  std::unique_ptr<kv_store> store;
  std::unique_ptr<content_store> content;
  connection_bounds bounds;
  /// Shapes outgoing frames (latency, faults, upload rate, partitions) on the
  /// io thread before they are queued on a connection; null: unshaped.
  std::shared_ptr<frame_shaper> shaper;
  /// The folder transport: frames for port ports::droplog become packet files
  /// (net/drop_transport.hpp) instead of TCP frames. None: TCP like any port.
  std::optional<drop_folders_config> drop_folders;
  /// Scenario time for the shaper's partition windows (any thread); null: the
  /// node's own clock, now().
  std::function<time_us()> scenario_now;

  /// A role event (called on the CAF worker thread).
  std::function<void(port_t, const event&)> on_event;
  /// A peer finished its hello (io thread). `address` is the address we
  /// dialed, or the listen address the peer announced if it dialed us.
  std::function<void(peer_id, const std::string& address)> on_peer;
  /// Log lines (any thread). Default: stderr.
  std::function<void(const std::string&)> on_log;
};

class live_runtime final : public runtime, public local_peer_host {
public:
  /// Counts one more start of the node whose rows `store` holds (the row
  /// node/starts) and returns the count: 1 at the first start.
  static std::uint64_t count_start(kv_store& store);

  explicit live_runtime(live_options opts);
  ~live_runtime() override; // stops if still running
  live_runtime(const live_runtime&) = delete;
  live_runtime& operator=(const live_runtime&) = delete;

  /// Binds the listen address, spawns the roles and starts them, dials the
  /// configured peers. Throws std::runtime_error with a clear message if the
  /// address cannot be bound.
  void start();
  /// Graceful stop: the roles' stop (goodbyes), a short grace period for
  /// outbound queues, then: stop the io thread, exit the actors, destroy the
  /// actor system, free the connection tables. Idempotent.
  void stop();

  /// Sends a local command to the role on `port` (false if there is none).
  bool command(port_t port, const peerlab::command& cmd);
  /// The text form of a command (node configs, the CLI), parsed by the role
  /// on `port`; the error if it is not one of its commands.
  std::optional<command_error> command(port_t port, std::uint64_t id, std::string_view verb,
                                       const std::vector<std::string>& args);

  peer_id id() const { return id_; }
  /// The bound address ("127.0.0.1:43121"), valid after start().
  const std::string& listen_address() const { return bound_; }
  /// Bytes queued for sending now, over all connections and pending dials
  /// (asks the io thread: call only while the node runs).
  std::size_t outbound_bytes() const;
  /// Role metrics and transport counters, by name.
  std::map<std::string, double> counters() const;

  // -- local peers (net/local_peers.hpp), from any thread -------------------
  peer_id open_local_peer(port_t port, const std::string& address, local_sink sink) override;
  void local_frame(peer_id from, bytes frame) override;
  void close_local_peer(peer_id id) override;

  // -- runtime seam -------------------------------------------------------
  time_us now() const override;
  void send(peer_id from, peer_id to, bytes frame) override;
  void after(peer_id self, port_t port, time_us delay, std::uint64_t token) override;
  void local_command(peer_id self, port_t to, peerlab::command c) override;
  rng& random(peer_id self) override;
  kv_store& store(peer_id self) override;
  content_store& content(peer_id self) override;
  void metric(peer_id self, const effects::metric_sample& m) override;
  void emit(peer_id self, port_t port, event&& e) override;
  void learn_address(peer_id peer, const std::string& address) override;
  std::string_view self_address(peer_id) const override { return bound_; }

private:
  class impl; // Asio and CAF state, kept out of this header
  std::unique_ptr<impl> impl_;
  peer_id id_ = 0;
  std::string bound_;
  rng rng_;
};

} // namespace peerlab::net
