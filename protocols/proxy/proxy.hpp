#pragma once
// The paid HTTP proxy: a provider announces itself under the DHT key
// http_proxy_providers, answers metadata and connect requests, meters each
// client's traffic and bills it through the ledger; a client finds providers,
// opens a session with the cheapest responsive one and settles periodically
// (the ProxyPaymentLoop). Wire format, states, the tolerance band, the credit
// window and the bound on what a cheater gains: docs/protocols/proxy.md.
#include "protocols/common/role.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t proxy = 12; // proxy provider: META/CONNECT requests, usage, notifications, data up
constexpr port_t proxy_client = 13; // proxy client: answers, payment requests, data down
} // namespace ports
} // namespace peerlab

namespace peerlab::proxy {

/// Bounds of the proxy protocol.
namespace bounds {
constexpr std::size_t address_max = 255;                // "host:port" of the proxy
constexpr std::size_t reason_max = 200;                 // refusal and end texts
constexpr std::size_t data_payload_max = 64u << 10;     // modelled traffic per DATA frame
constexpr std::uint32_t response_bytes_max = 64u << 20; // one modelled response
constexpr std::size_t clients_max = 100'000;            // ProxyClients rows of one provider
constexpr std::size_t sessions_max = 100'000;           // ProxySessions rows of one client
constexpr std::size_t providers_max = 64;               // providers a client remembers
constexpr std::size_t open_requests_max = 64;           // a client's modelled requests in flight
constexpr std::size_t pending_payments_max = 64;  // a provider's payments being verified per client
constexpr std::size_t used_tx_max = 1u << 20;     // transaction ids a provider remembers
constexpr std::size_t ended_announced_max = 4096; // ended clients a restart announces (newest)
} // namespace bounds

/// Fee in ledger units for `bytes` at `fee_per_kb` units per 1000 bytes,
/// rounded down (both sides compute it the same way, so honest figures agree).
std::uint64_t fee_of(std::uint64_t bytes, std::uint64_t fee_per_kb);

/// How far two counts of the same traffic may differ: the larger of
/// `tolerance` times the reference count and `slack_bytes` (bytes still in
/// flight when a report is made differ between the two sides).
struct band {
  double tolerance = 0.05;
  std::uint64_t slack_bytes = 1u << 20;
  /// The most `reference` may be exceeded or undershot by.
  std::uint64_t margin(std::uint64_t reference) const;
  bool within(std::uint64_t reference, std::uint64_t other) const;
  std::string check() const;
};

/// How a provider behaves (scenario: groups[].adversary on a proxy provider).
enum class provider_strategy : std::uint8_t {
  honest,
  over_reports,     // states and bills `over_factor` more bytes than it served
  drops_after_paid, // once a payment verified, still meters requests but answers none
};
/// How a client behaves (scenario: groups[].adversary on a proxy client).
enum class client_strategy : std::uint8_t {
  honest,
  under_reports, // states `under_factor` fewer bytes and pays only for what it stated
  stops_paying,  // pays its first bill of a session, then never reports nor pays again
};
std::optional<provider_strategy> provider_strategy_from_name(std::string_view);
std::optional<client_strategy> client_strategy_from_name(std::string_view);
const char* strategy_name(provider_strategy);
const char* strategy_name(client_strategy);
std::vector<std::string> provider_adversaries();
std::vector<std::string> client_adversaries();

struct provider_config {
  peer_id ledger = 0;
  std::string ledger_address;   // live: "host:port" of the ledger node
  std::uint64_t fee_per_kb = 0; // > 0: provides from the start (else provide_proxy start)
  std::string address;          // "host:port" of the HTTP proxy (live)
  bool announce = true;         // put a provider record under http_proxy_providers (kad role)
  band tolerance;
  /// Bytes a client may use beyond what it paid (confirmed or being verified)
  /// before it is cut off.
  std::uint64_t credit_window = 2u << 20;
  /// A client the data plane paused at its allowance (proxy_stalled) and that
  /// pays nothing for this long is cut off as unpaid.
  time_us stall_deadline = 20 * us_per_s;
  std::uint32_t strikes_max = 2; // consecutive out-of-band reports before a cut-off
  std::size_t max_clients = 10'000;
  time_us poll_interval = 1 * us_per_s;     // ledger status queries of notified payments
  time_us confirm_deadline = 60 * us_per_s; // notification to confirmation
  time_us unknown_grace = 5 * us_per_s;     // a tx the ledger does not know is fake after this
  provider_strategy cheat = provider_strategy::honest;
  double over_factor = 0.5;
  std::string check() const;
  /// The most a cheating client can use unpaid from this provider, in bytes:
  /// the credit window, plus one payment of at most that size counted while
  /// it is verified, plus the frame in flight when the window is crossed.
  std::uint64_t client_gain_bound_bytes() const;
};

struct client_config {
  peer_id ledger = 0;
  std::string ledger_address;
  std::uint64_t tx_fee = 1;        // ledger fee per payment
  time_us interval = 5 * us_per_s; // the ProxyPaymentLoop's period
  /// Also report (and pay) as soon as this many bytes went unreported, so a
  /// busy client stays well inside any provider's credit window.
  std::uint64_t pay_every = 256u << 10;
  band tolerance;
  time_us probe_timeout = 2 * us_per_s;     // lookup and META answers
  time_us response_timeout = 10 * us_per_s; // a request with no answer byte: the provider failed
  time_us resend_interval = 3 * us_per_s;   // unanswered TRANSFER / report / notify go again
  std::size_t probe_max = 8;                // providers asked for metadata per lookup
  std::uint32_t max_switches = 4;           // providers tried per proxy_open best
  client_strategy cheat = client_strategy::honest;
  double under_factor = 0.5;
  std::string check() const;
};

std::shared_ptr<role> make_provider(const provider_config&);
std::shared_ptr<role> make_client(const client_config&);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::proxy
