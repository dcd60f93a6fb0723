#pragma once
// The droplog role's local commands, as types; text forms parsed here only.
#include "protocols/common/command.hpp"
#include "protocols/common/types.hpp"
#include "protocols/droplog/httpmsg.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::droplog {

/// Sends an application message to `peer` through the log. Replies
/// droplog_submitted.
struct send_message {
  static constexpr std::string_view verb = "send";
  peer_id peer = 0;
  bytes payload;
  void describe(std::string& out) const;
};

/// Sends an HTTP request to `peer`'s gateway; `timeout_ms` 0 takes the role's
/// default. Replies http_response (504 on timeout).
struct http_request {
  static constexpr std::string_view verb = "http";
  peer_id peer = 0;
  std::string method;
  std::string target;
  bytes body;
  std::uint64_t timeout_ms = 0;
  /// Request headers to carry (the live gateway passes its client's); the
  /// text form has none.
  std::vector<http::header_field> headers{};
  /// The http_response event also carries the whole layer-2 response message
  /// in its field "message" (status, reason, headers, body), so a live HTTP
  /// listener can answer its client from the event (net/drop_listener.hpp).
  bool want_message = false;
  void describe(std::string& out) const;
};

using command = std::variant<send_message, http_request>;

/// Text form: send PEER PAYLOAD, http PEER METHOD TARGET BODY [TIMEOUT_MS].
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::droplog
