#pragma once
// What a host asks of a CDN client: a page load, a resource fetch, where the
// client is, and (browsers, external_links) the state of the links the host
// sets up. The simulator's workload, live node configs and the wasm shim in
// browsers issue the same commands.
#include "protocols/cdn/hash.hpp"
#include "protocols/common/command.hpp"
#include "protocols/common/types.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::cdn {

/// Where the client is (Geolocation API or the simulator's placement); joins
/// the server if the client has not yet. Replies located.
struct locate {
  static constexpr std::string_view verb = "locate";
  double lat = 0, lon = 0;
  std::uint32_t asn = 0;
  void describe(std::string& out) const;
};

/// Loads a page: its listing from the origin, then every resource it lists.
/// Replies load_done (or load_failed).
struct load {
  static constexpr std::string_view verb = "load";
  std::string page;
  void describe(std::string& out) const { describe_arg(out, page); }
};

/// Fetches one resource whose SHA-224 the origin listed. Replies
/// fetch_done or fetch_failed.
struct fetch {
  static constexpr std::string_view verb = "fetch";
  std::string url;
  hash224 sha{};
  void describe(std::string& out) const;
};

/// external_links: the host's link to `peer` is open (or closed).
struct link_up {
  static constexpr std::string_view verb = "link_up";
  peer_id peer = 0;
  void describe(std::string& out) const { describe_arg(out, peer); }
};
struct link_down {
  static constexpr std::string_view verb = "link_down";
  peer_id peer = 0;
  void describe(std::string& out) const { describe_arg(out, peer); }
};
/// external_links: set-up data the host's link produced, to relay to `peer`.
struct signal_out {
  static constexpr std::string_view verb = "signal_out";
  peer_id peer = 0;
  std::string data; // JSON text
  void describe(std::string& out) const;
};
/// The host lost its connection to the server (a WebSocket closed).
struct signal_lost {
  static constexpr std::string_view verb = "signal_lost";
  void describe(std::string&) const {}
};
/// A resource the host kept (a browser's IndexedDB): verified, then cached.
/// Typed only (its bytes have no text form).
struct cache_put {
  static constexpr std::string_view verb = "cache_put";
  std::string url;
  hash224 sha{};
  bytes data;
  void describe(std::string& out) const;
};

using command =
  std::variant<locate, load, fetch, link_up, link_down, signal_out, signal_lost, cache_put>;

/// Text forms: locate LAT LON [ASN], load PAGE, fetch URL SHA224,
/// link_up PEER, link_down PEER, signal_out PEER JSON, signal_lost.
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::cdn
