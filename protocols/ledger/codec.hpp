#pragma once
// Wire codec of the ledger. Requests travel to ports::ledger and name the
// port the reply goes to (so any role of a node can be a ledger client);
// replies carry that port in byte 0 and a type >= 0x80 in byte 1. Layout:
// docs/protocols/market.md. Every frame ends with an 8-byte checksum
// (protocols/common/frame_checksum.hpp), checked first: a frame damaged in
// transit fails with "checksum mismatch (damaged in transit)". Decoding is
// strict: a frame decodes only if re-encoding it gives back the same bytes.
#include "protocols/ledger/ledger.hpp"

#include <string>
#include <variant>

namespace peerlab::ledger {

enum class msg_type : std::uint8_t {
  transfer = 1,        // client -> ledger
  tx_status_req = 2,   // client -> ledger
  balance_req = 3,     // client -> ledger
  transfer_ok = 0x81,  // ledger -> client
  transfer_err = 0x82, // ledger -> client
  tx_status = 0x83,    // ledger -> client
  balance = 0x84,      // ledger -> client
};

enum class error_code : std::uint8_t {
  overdraft = 1,    // balance minus pending spends cannot cover amount + fee
  double_spend = 2, // the payer's nonce is already spent in a block
  conflict = 3,     // a pending transaction holds the nonce and this one may not replace it
  not_owner = 4,    // the sender of the request does not own the paying account
  bad_amount = 5,   // zero amount, amount + fee overflows, or paying a reserved account
  full = 6,         // mempool or transaction table at its bound
};
const char* error_name(error_code c);

struct transfer {
  std::uint64_t req_id = 0;
  port_t reply_port = 0;
  account_id from = 0, to = 0;
  std::uint64_t amount = 0, fee = 0, nonce = 0;
  bool operator==(const transfer&) const = default;
};

struct tx_status_req {
  std::uint64_t req_id = 0;
  port_t reply_port = 0;
  tx_id id{};
  bool operator==(const tx_status_req&) const = default;
};

struct balance_req {
  std::uint64_t req_id = 0;
  port_t reply_port = 0;
  account_id account = 0;
  bool operator==(const balance_req&) const = default;
};

struct transfer_ok {
  port_t port = 0;
  std::uint64_t req_id = 0;
  tx_id id{};
  bool operator==(const transfer_ok&) const = default;
};

struct transfer_err {
  port_t port = 0;
  std::uint64_t req_id = 0;
  error_code code = error_code::overdraft;
  std::string text;
  bool operator==(const transfer_err&) const = default;
};

/// What the ledger knows of one transaction. For status unknown only req_id,
/// id and tip are meaningful (the other fields are zero).
struct tx_status_reply {
  port_t port = 0;
  std::uint64_t req_id = 0;
  tx_id id{};
  tx_status status = tx_status::unknown;
  account_id from = 0, to = 0;
  std::uint64_t amount = 0, fee = 0, nonce = 0;
  std::uint64_t height = 0; // block holding it (0 if none)
  std::uint64_t depth = 0;  // tip - height + 1 (0 if not in a block)
  std::uint64_t tip = 0;    // current chain height
  bool operator==(const tx_status_reply&) const = default;
};

struct balance_reply {
  port_t port = 0;
  std::uint64_t req_id = 0;
  account_id account = 0;
  std::uint64_t balance = 0;     // confirmed by blocks
  std::uint64_t pending_out = 0; // amount + fee of its pending transactions
  std::uint64_t tip = 0;
  bool operator==(const balance_reply&) const = default;
};

using message = std::variant<transfer, tx_status_req, balance_req, transfer_ok, transfer_err,
                             tx_status_reply, balance_reply>;

/// Builds the frame, port byte included (requests: ports::ledger; replies:
/// their `port`). Error text longer than the bound is cut.
bytes encode(const message& m);

struct decode_result {
  message msg;
  std::string error; // empty on success; otherwise names the message and field
  bool ok() const { return error.empty(); }
};

/// Decodes a whole frame (port byte included). Requests must arrive on
/// ports::ledger; replies may arrive on any port but ports::ledger.
decode_result decode(byte_view frame);

/// True if byte 1 of the frame is a ledger reply type (clients sharing a port
/// with another protocol use it to route).
bool is_reply_frame(byte_view frame);

const char* message_name(std::uint8_t type);

} // namespace peerlab::ledger
