#pragma once
// The proxy's local commands, as types; their text forms are parsed here
// only. The provider takes provide_proxy, proxy_usage and metered; the client
// takes proxy_providers, proxy_open, proxy_close, proxy_usage, metered and
// proxy_fetch. A role answers an alternative it does not take with 400.
#include "protocols/common/command.hpp"
#include "protocols/common/types.hpp"

#include <array>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::proxy {

/// Provider: starts (fee per KB, proxy address) or stops providing. Starting
/// announces the provider under http_proxy_providers; stopping ends every
/// session. Replies proxy_providing.
struct provide_proxy {
  static constexpr std::string_view verb = "provide_proxy";
  bool start = true;
  std::uint64_t fee_per_kb = 0;
  std::string address;
  void describe(std::string& out) const;
};

/// Client: finds providers through the DHT and asks each for its metadata.
/// Replies proxy_providers (one "peer:fee:rtt_us" per answering provider).
struct list_providers {
  static constexpr std::string_view verb = "proxy_providers";
  void describe(std::string&) const {}
};

/// Client: opens a session with `provider`, or with the best one found
/// (lowest fee, then lowest measured round trip) when `provider` is 0.
/// Replies proxy_opened once connected.
struct open_session {
  static constexpr std::string_view verb = "proxy_open";
  peer_id provider = 0; // 0: best
  void describe(std::string& out) const;
};

/// Client: settles what it owes and ends its session. Replies proxy_closed.
struct close_session {
  static constexpr std::string_view verb = "proxy_close";
  void describe(std::string&) const {}
};

/// Both: the rows of ProxyClients (provider) or ProxySessions (client).
/// Replies proxy_usage.
struct usage {
  static constexpr std::string_view verb = "proxy_usage";
  void describe(std::string&) const {}
};

/// Both: the one metering entry point. `client_id` proxied `up` bytes from
/// the client towards the origin and `down` bytes back. Live, net/'s proxy
/// reports its counts with it; in the simulator the roles call the same code
/// for the bytes of their DATA frames. No reply unless it fails.
struct metered {
  static constexpr std::string_view verb = "metered";
  std::uint64_t client_id = 0;
  std::uint64_t up = 0, down = 0;
  void describe(std::string& out) const;
};

/// Provider: which client a Bearer token authenticates (live: net/'s forward
/// proxy asks before it serves a request). Replies proxy_authorized with the
/// client id; 404 for an unknown token (answer 407), 409 for a client that is
/// not active (answer 403).
struct authorize {
  static constexpr std::string_view verb = "proxy_authorize";
  std::array<std::uint8_t, 32> token{};
  void describe(std::string& out) const;
};

/// Client: the data plane saw the open session's provider fail (live: net/'s
/// local proxy could not reach its forward proxy, timed out, or was refused
/// with 407 / 403). Ends the session as service_failed, which makes a session
/// opened with "best" switch to the next provider; the simulated client ends
/// sessions the same way when its requests go unanswered. No reply unless it
/// fails (404: `client_id` is not the open session).
struct provider_failed {
  static constexpr std::string_view verb = "proxy_failed";
  std::uint64_t client_id = 0;
  std::string why;
  void describe(std::string& out) const;
};

/// Client (simulated traffic): one HTTP exchange of `request` bytes up and
/// `response` bytes down through the session. Replies proxy_fetched or
/// proxy_fetch_failed.
struct fetch {
  static constexpr std::string_view verb = "proxy_fetch";
  std::uint64_t request = 0, response = 0;
  void describe(std::string& out) const;
};

/// Provider: the data plane paused the client at its allowance (live: the
/// forward proxy stopped reading for it until a payment raises the
/// allowance). A client that stays paused without paying for stall_deadline
/// is cut off. No reply unless it fails (404 unknown client, 409 not active).
struct stalled {
  static constexpr std::string_view verb = "proxy_stalled";
  std::uint64_t client_id = 0;
  void describe(std::string& out) const;
};

using command = std::variant<provide_proxy, list_providers, open_session, close_session, usage,
                             metered, fetch, authorize, provider_failed, stalled>;

/// Text forms: provide_proxy start FEE [ADDRESS] | provide_proxy stop;
/// proxy_providers; proxy_open best|PEER; proxy_close; proxy_usage;
/// metered CLIENT_ID UP DOWN; proxy_fetch REQUEST_BYTES RESPONSE_BYTES;
/// proxy_authorize TOKEN (64 hex digits); proxy_failed CLIENT_ID [WHY];
/// proxy_stalled CLIENT_ID.
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::proxy
