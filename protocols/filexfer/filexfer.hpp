#pragma once
// File transfer of the paid file market, without payment: metadata by
// SHA-256 file hash, then content streamed in chunks under a request id.
// Wire format and policy choices: docs/protocols/filexfer.md.
#include "protocols/common/role.hpp"
#include "protocols/common/sha256.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <nlohmann/json_fwd.hpp>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t file_provider = 1;   // filexfer requests (metadata, content)
constexpr port_t file_downloader = 2; // filexfer responses (metadata, chunks)
// The node's paying role (protocols/market): a paid download reports its
// orders and the bytes it received there (filexfer::purchase_report).
constexpr port_t payer = 9;
} // namespace ports
} // namespace peerlab

namespace peerlab::filexfer {

/// How a provider misbehaves (scenario: groups[].adversary).
enum class provider_strategy : std::uint8_t {
  honest,
  corrupt_content,  // flips bytes in every chunk it serves
  truncate_content, // claims the stream is complete after half the file
  silent,           // answers metadata, never sends content
};

/// Bounds of this protocol (the project-wide ones are in protocols/common/limits.hpp).
namespace bounds {
/// Largest byte range one CONTENT_REQ may ask for.
constexpr std::size_t request_bytes_max = 16u << 20;
/// Content requests one download keeps in flight (caps windows_in_flight).
constexpr std::size_t windows_in_flight_max = 64;
/// Bytes a provider sends per turn before yielding (a zero-delay timer), so a
/// large request cannot monopolise the node or build one huge effects batch.
constexpr std::size_t provider_turn_bytes = 1u << 20;
/// Bytes read back from a sink per step when hashing data that arrived out of order.
constexpr std::size_t hash_readback_bytes = 1u << 20;
/// Bytes re-hashed per step when a restarted downloader verifies a partial
/// file (one zero-delay timer each, so other downloads keep moving).
constexpr std::size_t resume_verify_step_bytes = 8u << 20;
/// Content requests one download may have open at once: pipelined windows,
/// fast re-requests of lost ranges, and windows kept after a timeout for late chunks.
constexpr std::size_t open_windows_max = 256;
/// Re-requests one loss signal may send; further holes go into the last one.
constexpr std::size_t ranges_per_rerequest_max = 8;
/// Caps downloader_config::fast_retries.
constexpr std::size_t fast_retries_max = 8;
/// Gap detection: a hole counts as lost once data this many chunks beyond it
/// arrived in the same window (FIFO links never reorder; a little slack absorbs
/// networks that do).
constexpr std::size_t reorder_chunks = 3;
} // namespace bounds

class payment_gate; // payment_gate.hpp

struct provider_config {
  std::size_t chunk_bytes = 64 * 1024;
  provider_strategy strategy = provider_strategy::honest;
  /// Null: content is free. Otherwise asked before each request and chunk
  /// (the paid file market, protocols/market, plugs its policy in here).
  std::shared_ptr<payment_gate> gate;
};

struct downloader_config {
  std::size_t chunk_bytes = 64 * 1024;    // asked of the provider
  std::size_t window_bytes = 1024 * 1024; // bytes requested per content request
  std::size_t windows_in_flight = 4;      // pipelined content requests
  time_us request_timeout = 5 * us_per_s; // cap of the adaptive timeout below
  time_us initial_timeout = 1 * us_per_s; // timeout before any round trip was measured
  time_us min_timeout = 200 * us_per_ms;  // floor of the RTT-based timeout
  std::size_t fast_retries = 2;           // re-requests of a lost range before the timeout path
  std::size_t attempts_per_provider = 2;  // timeouts tolerated per provider
  std::size_t max_attempts = 8;           // whole download gives up after this many
  // Crash recovery (docs/protocols/filexfer.md "Resume and retry"): the
  // verified prefix is persisted each time it grew by checkpoint_bytes.
  std::uint64_t checkpoint_bytes = 1024 * 1024;
  // A download whose providers all failed waits retry_initial (doubling up to
  // retry_max) and tries them all again, until retry_deadline after it
  // started; 0 = fail at once.
  time_us retry_initial = 1 * us_per_s;
  time_us retry_max = 30 * us_per_s;
  time_us retry_deadline = 0;
  // Metadata lookups ("lookup HASH PEER..."): how long one waits for answers,
  // how many run at once, and how many peers one asks.
  time_us lookup_timeout = 2 * us_per_s;
  std::size_t max_lookups = 64;
  std::size_t max_lookup_peers = 64;
};

/// Server side: answers metadata and content requests from its content store.
/// Runs on ports::file_provider.
class provider;

/// Client side: runs downloads requested by the "download" command
/// (args: hex hash, then one decimal peer id per provider). Verifies SHA-256
/// before reporting success; retries other providers on timeout or failure.
/// Also answers "lookup HASH PEER..." (metadata only, no download).
/// Runs on ports::file_downloader. Events: download_started, download_done,
/// download_failed, corrupt_detected, lookup_answer, lookup_done.
class downloader;

} // namespace peerlab::filexfer

namespace peerlab::filexfer {
std::shared_ptr<role> make_provider(const provider_config& cfg);
std::shared_ptr<role> make_downloader(const downloader_config& cfg);
std::optional<provider_strategy> strategy_from_name(std::string_view name);
/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

/// The "chunk_size" parameter of a provider or downloader (default: 64 KiB).
std::size_t chunk_size_param(const nlohmann::json& params, const std::string& path);
/// Misbehaviours a provider implements (provider_strategy by name).
const std::vector<std::string>& provider_adversaries();

} // namespace peerlab::filexfer
