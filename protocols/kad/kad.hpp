#pragma once
// Kademlia DHT node with provider records (peer discovery of the file market: file
// providers and HTTP proxy providers). Public API: configuration, limits, key
// helpers and the role factory. Wire format, policies and parameters:
// docs/protocols/kad.md.
#include "protocols/common/role.hpp"
#include "protocols/kad/ids.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t kad = 3; // Kademlia DHT
} // namespace ports
} // namespace peerlab

namespace peerlab::kad {

/// Hard bounds of the protocol (codec and tables). Configuration values are
/// checked against them by validate().
namespace limits {
/// Contacts in one NODES message or in the "closer" list of PROVIDERS.
constexpr std::size_t contacts_per_message_max = 32;
/// Providers in one PROVIDERS message.
constexpr std::size_t providers_per_message_max = 64;
/// Longest contact address ("host:port").
constexpr std::size_t address_bytes_max = 255;
/// Longest error text in an ERR message.
constexpr std::size_t error_text_max = 256;
/// Largest bucket size k and parallelism alpha a configuration may ask for.
constexpr std::size_t k_max = contacts_per_message_max;
constexpr std::size_t alpha_max = 32;
/// Requests a node may have outstanding at once; further requests fail at once.
constexpr std::size_t pending_requests_max = 4096;
/// Lookups (including puts, refreshes and republishes) running at once.
constexpr std::size_t active_queries_max = 256;
/// A lookup keeps at most this many candidates per k (the farthest are dropped).
constexpr std::size_t lookup_candidates_per_k = 8;
/// Keys this node itself provides (and republishes).
constexpr std::size_t provided_keys_max = 4096;
/// Largest requested provider count of find_providers.
constexpr std::size_t wanted_providers_max = 4096;
/// Upper bounds for the record-store configuration.
constexpr std::size_t store_records_max = 1u << 22;
constexpr std::size_t replacement_cache_max = 64;
/// Largest per-peer round-trip-time table.
constexpr std::size_t rtt_peers_max = 4096;
} // namespace limits

struct config {
  std::size_t k = 20;                      // bucket size and replication factor
  std::size_t alpha = 3;                   // parallel requests per lookup
  time_us request_timeout = 10 * us_per_s; // per request, the most it waits
  // Adaptive timeouts (docs/protocols/kad.md "Round-trip times"): a request to a
  // peer times out after clamp(srtt + 4 rttvar, min_request_timeout,
  // request_timeout) and stops holding back its lookup (stalls) after
  // clamp(srtt + 4 rttvar, min_stall_time, its timeout).
  time_us min_request_timeout = 1 * us_per_s;    // >= request_timeout: fixed timeouts
  time_us min_stall_time = 100 * us_per_ms;      // >= request_timeout: no stalling
  std::size_t rtt_peers = 128;                   // peers with an RTT estimate of their own
  time_us query_timeout = 60 * us_per_s;         // whole lookup (and the store phase of a put)
  time_us provider_ttl = 48ll * 3600 * us_per_s; // expiry of a stored provider record
  time_us republish_interval = 22ll * 3600 * us_per_s; // provider re-announces its keys
  time_us refresh_interval = 10ll * 60 * us_per_s;     // stale-bucket refresh period
  std::size_t replacement_cache = 10;                  // per bucket
  std::size_t max_providers_per_key = 20;              // records one node stores per key
  std::size_t max_records_per_peer = 1024; // records one node stores for one providing peer
  std::size_t max_records_total = 65536;   // records one node stores in all
  int max_refresh_cpl = 15;                // buckets refreshed: common prefix 0..this
};

/// Returns an error naming the first bad field, or nullopt if `c` is usable.
std::optional<std::string> validate(const config& c);

/// The role (port ports::kad). Throws std::invalid_argument if validate() fails.
/// Commands: bootstrap [peer[@address]...], provide KEY, stop_providing KEY,
/// find_providers KEY [count], find_node ID. KEY and ID are 64 hex digits or
/// the alias "http_proxy_providers".
std::shared_ptr<role> make_kad_role(const config& c = {});

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::kad
