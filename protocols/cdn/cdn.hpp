#pragma once
// The browser P2P CDN (seed 001): a signalling server pairs clients with
// nearby peers and relays their link set-up; clients fetch a site's resources
// from their peers first and from the origin as a fallback, verify every
// resource against the SHA-224 the origin listed, evict peers that serve bad
// bytes or stall, resume an interrupted transfer elsewhere, and serve what
// they hold from a bounded LRU cache. Wire format and policy: docs/protocols/cdn.md.
#include "protocols/common/role.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t cdn_signal = 14; // signalling server: join, want, signal relay, ping
constexpr port_t cdn_origin = 15; // the site's origin: listing and resource requests
constexpr port_t cdn_client = 16; // CDN client: server messages, peer requests and data
} // namespace ports
} // namespace peerlab

namespace peerlab::cdn {

namespace bounds {
constexpr std::size_t signal_message_max = 16u << 10; // one JSON signalling message
constexpr std::size_t signal_data_max = 8u << 10;     // the opaque payload of a relayed signal
constexpr std::size_t interests_max = 64;             // resources a join may name
constexpr std::size_t url_max = 512;                  // a resource's URL (path)
constexpr std::size_t chunk_max = 16u << 10;          // DATA payload: WebRTC's interoperable size
constexpr std::uint64_t resource_max = 64u << 20;     // one resource
constexpr std::uint32_t window_max = 1u << 20;        // bytes one REQUEST may ask for
constexpr std::size_t listing_entries_max = 1024;     // resources one page lists
constexpr std::size_t clients_max = 1'000'000;        // clients one server may hold
constexpr std::size_t want_max = 16;                  // peers a client may ask for
constexpr std::size_t fetches_max = 256;              // a client's fetches in flight or queued
constexpr std::size_t blocked_max = 256;              // peers one client has evicted
} // namespace bounds

/// How the server chooses peers for a client.
enum class pairing : std::uint8_t {
  proximity,  // nearest by great-circle distance, same ASN preferred, join order on ties
  first_come, // join order (the original's FIFO pairing)
};

/// A configured IPv4 prefix with its location (the IP-to-location and
/// IP-to-ASN tables of a live server).
struct ip_location {
  std::uint32_t prefix = 0; // host order
  std::uint8_t bits = 0;
  double lat = 0, lon = 0;
  std::uint32_t asn = 0;
};

struct signal_config {
  enum pairing pairing = pairing::proximity;
  std::uint32_t max_peers = 12;  // pairs one client may be part of (room to choose: see cdn.md)
  std::uint32_t scan_max = 2048; // open clients a pairing looks at
  double asn_penalty_km = 500;   // a peer in another ASN counts as this much farther
  double unknown_km = 20'000;    // distance assumed when either side has no location
  time_us client_timeout = 30'000'000; // a silent client is dropped
  time_us pair_timeout = 15'000'000;   // a pair not linked by then is dissolved
  std::uint32_t rate = 20;             // messages per second per client (token bucket)
  std::uint32_t burst = 60;            // bucket size
  std::uint32_t max_clients = 100'000; // joins beyond are refused ("full")
  std::vector<ip_location> locations;  // longest prefix wins
  std::string validate() const;
};

/// A resource of the site; its bytes are a function of the URL (site.hpp).
struct resource_spec {
  std::string url;
  std::uint64_t size = 0;
};

struct origin_config {
  std::string page = "/index";          // the listing's URL
  std::vector<resource_spec> resources; // what the page lists
  std::string validate() const;
};

struct client_config {
  peer_id server = 0;                     // the signalling server
  peer_id origin = 0;                     // the origin
  std::string server_address;             // live: the server is the peer met at this "ip:port"
  std::string origin_address;             // live: likewise the origin (default: server_address)
  std::string load;                       // a page to load once joined (live nodes); "" for none
  bool join_at_start = true;              // false: joins on the first command (after `locate`)
  std::uint32_t want = 3;                 // peers to keep
  std::uint32_t fanout = 2;               // peers asked at once for a resource
  std::uint32_t first_window = 16u << 10; // bytes asked of each racing peer
  std::uint32_t window = 256u << 10;      // bytes asked of the chosen source at a time
  time_us peer_deadline = 400'000;        // no peer data by then: the origin
  time_us stall_timeout = 2'000'000;      // a source silent this long is dropped
  time_us fetch_timeout = 60'000'000;     // a fetch ends by then
  time_us link_timeout = 10'000'000;      // a pairing not linked by then is abandoned
  time_us heartbeat = 10'000'000;         // ping interval to the server
  time_us join_timeout = 5'000'000;       // no welcome by then: back off and retry
  time_us backoff_base = 1'000'000;       // first reconnect delay (socket.io's 1 s)
  time_us backoff_cap = 30'000'000;       // longest reconnect delay
  bool jitter = true;                     // full jitter: uniform in [0, min(cap, base * 2^n)]
  std::uint32_t cache_entries = 100;      // LRU entries (the original's QuickLRU size)
  std::uint64_t cache_bytes = 64u << 20;
  std::uint32_t max_fetches = 8;        // fetches running at once (others wait)
  std::uint64_t serve_rate = 16u << 20; // bytes/s one peer may ask of us (token bucket)
  std::uint64_t serve_burst = 4u << 20; // its bucket
  bool external_links = false; // links set up by the host (browsers): docs/protocols/cdn.md
  std::string validate() const;
};

/// Misbehaviour of a client (scenario: groups[].adversary on cdn_client).
enum class client_strategy : std::uint8_t {
  honest,
  corrupt_content, // serves resources with flipped bytes
  stall,           // accepts requests and never sends data
};

std::shared_ptr<role> make_signal(const signal_config& c);
std::shared_ptr<role> make_origin(const origin_config& c);
std::shared_ptr<role> make_client(const client_config& c,
                                  client_strategy s = client_strategy::honest);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::cdn
