#pragma once
// Wire codec of the payment protocol. PAYMENT_REQUEST and PAYMENT_STATUS go
// to the payer port of the downloading node, PAYMENT_NOTIFY to the payment
// port of the provider. Layout: docs/protocols/market.md. Every frame ends
// with an 8-byte checksum (protocols/common/frame_checksum.hpp), checked first:
// a frame damaged in transit fails with "checksum mismatch (damaged in
// transit)". Decoding is strict (a frame decodes only if re-encoding gives back
// the same bytes).
#include "protocols/common/payment_status.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/filexfer/codec.hpp"

#include <string>
#include <variant>

namespace peerlab::market {

using filexfer::payment_ref;
using tx_id = digest;

enum class msg_type : std::uint8_t {
  payment_request = 1, // provider -> payer
  payment_notify = 2,  // payer -> provider's verifier
  payment_status = 3,  // verifier -> payer
};

// Verifier answers (protocols/common/payment_status.hpp); a failed market
// payment also blacklists the payer.
using peerlab::pay_status;
using peerlab::pay_status_name;

/// A bill: pay `amount` to account `recipient` for bytes [from, to) of `hash`.
struct payment_request {
  payment_ref ref{};
  digest hash{};
  std::uint64_t amount = 0;
  std::uint64_t recipient = 0;
  std::uint64_t from = 0, to = 0;
  std::uint32_t due_ms = 0; // the provider fails the bill if not notified within this
  bool operator==(const payment_request&) const = default;
};

struct payment_notify {
  payment_ref ref{};
  tx_id tx{};
  bool operator==(const payment_notify&) const = default;
};

struct payment_status {
  payment_ref ref{};
  tx_id tx{};
  pay_status status = pay_status::received;
  std::string reason;
  bool operator==(const payment_status&) const = default;
};

using message = std::variant<payment_request, payment_notify, payment_status>;

bytes encode(const message&);

struct decode_result {
  message msg;
  std::string error;
  bool ok() const { return error.empty(); }
};
decode_result decode(byte_view frame);
const char* message_name(std::uint8_t type);

std::string ref_hex(const payment_ref&);

} // namespace peerlab::market
