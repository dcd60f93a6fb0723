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

namespace peerlab {
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
constexpr std::size_t pending_payments_max = 64; // a provider's payments being verified per client
constexpr std::size_t used_tx_max = 1u << 20;    // transaction ids a provider remembers
} // namespace bounds

} // namespace peerlab::proxy
