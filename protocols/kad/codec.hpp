#pragma once
// Wire codec of the Kademlia protocol (docs/protocols/kad.md "Wire format").
// Decoding is strict: every length is checked, trailing bytes are an error,
// and the error text names the field.
#include "protocols/kad/contact.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace peerlab::kad {

enum class msg_type : std::uint8_t {
  ping = 1,
  pong = 2,
  find_node = 3,
  nodes = 4,
  add_provider = 5,
  ack = 6,
  err = 7,
  get_providers = 8,
  providers = 9,
};

const char* msg_name(std::uint8_t type);
bool is_request(msg_type t);

/// Error codes carried by ERR (answer to ADD_PROVIDER).
enum class err_code : std::uint8_t {
  provider_not_sender = 1, // the provider contact is not the peer that sent the request
  key_full = 2,            // max_providers_per_key reached for this key
  peer_full = 3,           // max_records_per_peer reached for this provider
  store_full = 4,          // max_records_total reached
  bad_request = 5,
};

/// One message. Which fields are meaningful depends on `type`:
/// find_node: key (target); nodes: closer; add_provider: key, provider;
/// err: code, text; get_providers: key; providers: providers, closer.
struct message {
  msg_type type = msg_type::ping;
  std::uint64_t request_id = 0;
  kad_id sender_id{};         // claimed id of the sender; must be id_of(transport sender)
  std::string sender_address; // how to reach the sender (may be empty)
  kad_id key{};
  contact provider;
  std::vector<contact> providers;
  std::vector<contact> closer;
  std::uint8_t code = 0;
  std::string text;

  bool operator==(const message&) const = default;
};

/// Encodes `m` (byte 0 = ports::kad). Lists longer than the limits are a
/// programming error and are cut to the limit.
bytes encode(const message& m);

struct decoded {
  bool ok = false;
  message msg;
  std::string error; // names the field when !ok
};

/// Structural decoding (sizes, counts, lengths, no trailing bytes).
decoded decode(byte_view frame);

/// Semantic checks of a decoded message that came from transport peer `from`:
/// the sender's id is id_of(from) and every contact's id is id_of(its peer).
/// `id_ok(peer, id)` answers whether id == id_of(peer).
/// Returns an empty string if valid, else what was wrong.
template <class IdCheck>
std::string check_ids(const message& m, peer_id from, IdCheck&& id_ok) {
  if (!id_ok(from, m.sender_id))
    return "sender id is not SHA-256 of the sender's peer id";
  if (m.type == msg_type::add_provider && !id_ok(m.provider.peer, m.provider.id))
    return "provider id is not SHA-256 of its peer id";
  for (auto& c : m.providers)
    if (!id_ok(c.peer, c.id))
      return "a provider's id is not SHA-256 of its peer id";
  for (auto& c : m.closer)
    if (!id_ok(c.peer, c.id))
      return "a contact's id is not SHA-256 of its peer id";
  return {};
}

} // namespace peerlab::kad
