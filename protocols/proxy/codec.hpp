#pragma once
// Wire codec of the paid HTTP proxy. Requests to a provider travel to
// ports::proxy (types below 0x40), answers and bills to a client's
// ports::proxy_client (types 0x40 to 0x7f), so byte 0 follows from byte 1;
// types from 0x80 up are the ledger's replies, which reach both roles.
// Layout: docs/protocols/proxy.md. Every frame ends with the 8-byte checksum
// of protocols/common/frame_checksum.hpp, checked first, so a frame damaged in
// transit fails with "checksum mismatch (damaged in transit)". Decoding is
// strict: a frame decodes only if re-encoding it gives back the same bytes.
#include "protocols/common/payment_status.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/proxy/proxy.hpp"

#include <array>
#include <string>
#include <variant>

namespace peerlab::proxy {

using auth_token = std::array<std::uint8_t, 32>;
using payment_ref = std::array<std::uint8_t, 16>;
using tx_id = digest;

enum class msg_type : std::uint8_t {
  meta_req = 1,        // client -> provider
  connect_req = 2,     // client -> provider
  usage_report = 3,    // client -> provider (the ProxyPaymentLoop, phase 1)
  payment_notify = 4,  // client -> provider (phase 2)
  session_end = 5,     // client -> provider
  data_up = 6,         // client -> provider: modelled request bytes (simulator traffic)
  meta = 0x41,         // provider -> client
  meta_refused = 0x42, // provider -> client
  connect_ok = 0x43,
  connect_refused = 0x44,
  payment_request = 0x45, // answer to a usage report the provider accepts
  usage_refused = 0x46,   // answer to a usage report it does not
  payment_status = 0x47,
  session_ended = 0x48, // the provider ended the session
  data_down = 0x49,     // modelled response bytes
};

/// Why a provider refuses a request. Each answer allows a subset (docs).
enum class refusal : std::uint8_t {
  not_provider = 1,     // META / CONNECT: this node does not provide a proxy now
  internal_error = 2,   // META / CONNECT: it cannot answer (e.g. its table is full)
  out_of_tolerance = 3, // USAGE: the client's figures are outside the band
  terminated = 4,       // CONNECT / USAGE: this client was cut off
  unknown_client = 5,   // USAGE: no such client id (or a wrong token)
  busy = 6,             // CONNECT: too many clients
};
const char* refusal_name(refusal);

/// Why a session ended (SESSION_END from the client, SESSION_ENDED from the provider).
enum class end_reason : std::uint8_t {
  client_closed = 1,    // the client is done
  out_of_tolerance = 2, // the other side's usage figures were outside the band
  unpaid = 3,           // the client owed more than the credit window
  payment_failed = 4,   // a notified payment did not verify
  provider_stopped = 5, // the provider stopped providing
  service_failed = 6,   // the provider stopped answering (client side)
};
const char* end_reason_name(end_reason);

using peerlab::pay_status;
using peerlab::pay_status_name;

/// What META and CONNECT_OK describe: where the proxy listens and its price.
struct metadata {
  std::string address;          // "host:port" of the HTTP proxy (empty in the simulator)
  std::uint64_t fee_per_kb = 0; // ledger units per 1000 bytes
  std::uint64_t recipient = 0;  // the ledger account bills are paid to
  bool operator==(const metadata&) const = default;
};

struct meta_req {
  std::uint64_t req_id = 0;
  bool operator==(const meta_req&) const = default;
};
struct connect_req {
  std::uint64_t req_id = 0;
  bool operator==(const connect_req&) const = default;
};
/// Phase 1: bytes the client counted in the session so far (both directions)
/// and the fee it owes for them minus every payment it already sent.
struct usage_report {
  std::uint64_t client_id = 0;
  auth_token token{};
  std::uint64_t seq = 0;
  std::uint64_t bytes_used = 0;
  std::uint64_t fee_owed = 0;
  bool operator==(const usage_report&) const = default;
};
struct payment_notify {
  std::uint64_t client_id = 0;
  auth_token token{};
  payment_ref ref{};
  tx_id tx{};
  bool operator==(const payment_notify&) const = default;
};
struct session_end {
  std::uint64_t client_id = 0;
  auth_token token{};
  end_reason reason = end_reason::client_closed;
  std::string text;
  bool operator==(const session_end&) const = default;
};
struct data_up {
  std::uint64_t client_id = 0;
  auth_token token{};
  std::uint64_t request_id = 0;
  std::uint32_t response_bytes = 0; // what the modelled origin answers
  bytes payload;                    // the request's bytes (at most bounds::data_payload_max)
  bool operator==(const data_up&) const = default;
};
struct meta {
  std::uint64_t req_id = 0;
  metadata info;
  bool operator==(const meta&) const = default;
};
struct meta_refused {
  std::uint64_t req_id = 0;
  refusal why = refusal::not_provider;
  std::string text;
  bool operator==(const meta_refused&) const = default;
};
struct connect_ok {
  std::uint64_t req_id = 0;
  std::uint64_t client_id = 0;
  auth_token token{};
  metadata info;
  bool operator==(const connect_ok&) const = default;
};
struct connect_refused {
  std::uint64_t req_id = 0;
  refusal why = refusal::not_provider;
  std::string text;
  bool operator==(const connect_refused&) const = default;
};
/// Phase 1 answer: the provider's own count and fee owed, and what to pay.
struct payment_request {
  std::uint64_t client_id = 0;
  std::uint64_t seq = 0; // the usage report it answers
  std::uint64_t provider_bytes = 0;
  std::uint64_t provider_fee_owed = 0;
  std::uint64_t amount = 0;
  std::uint64_t recipient = 0;
  payment_ref ref{};
  bool operator==(const payment_request&) const = default;
};
struct usage_refused {
  std::uint64_t client_id = 0;
  std::uint64_t seq = 0;
  refusal why = refusal::out_of_tolerance;
  std::uint64_t provider_bytes = 0;
  std::string text;
  bool operator==(const usage_refused&) const = default;
};
struct payment_status {
  std::uint64_t client_id = 0;
  payment_ref ref{};
  tx_id tx{};
  pay_status status = pay_status::received;
  std::string reason;
  bool operator==(const payment_status&) const = default;
};
struct session_ended {
  std::uint64_t client_id = 0;
  end_reason reason = end_reason::unpaid;
  std::string text;
  bool operator==(const session_ended&) const = default;
};
struct data_down {
  std::uint64_t client_id = 0;
  std::uint64_t request_id = 0;
  bool last = false; // the response's final frame
  bytes payload;
  bool operator==(const data_down&) const = default;
};

using message =
  std::variant<meta_req, connect_req, usage_report, payment_notify, session_end, data_up, meta,
               meta_refused, connect_ok, connect_refused, payment_request, usage_refused,
               payment_status, session_ended, data_down>;

/// The frame, port byte and checksum included. Texts longer than their bound are cut.
bytes encode(const message&);

struct decode_result {
  message msg;
  std::string error; // empty on success; otherwise names the message and the field
  bool ok() const { return error.empty(); }
};
decode_result decode(byte_view frame);
const char* message_name(std::uint8_t type);

} // namespace peerlab::proxy
