#pragma once
// Signalling messages: JSON objects, the same text over peerlab frames
// ([port] + JSON) and over the live server's WebSocket (the JSON alone).
// Peer ids travel as decimal strings (a JavaScript number holds 53 bits).
// Every message and field: docs/protocols/cdn.md.
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::cdn {

enum class msg : std::uint8_t {
  // client -> server
  join,   // interests, lat/lon, asn, want, peers (links it still has)
  want,   // count: pair me with this many more peers
  signal, // peer = to; data: opaque set-up data to relay
  linked, // peer: our link is up
  unpair, // peer, block: I dropped this link (block: never pair us again)
  ping,
  leave,
  // server -> client
  welcome,   // peer = the id the server knows the client by
  paired,    // peer, initiator
  peer_left, // peer: gone or the pairing was dissolved
  pong,
  bye,   // the server is going away (the client reconnects with back-off)
  error, // reason
};

struct signal_msg {
  explicit signal_msg(msg t = msg::ping) : type(t) {}
  msg type;
  peer_id peer = 0;
  bool initiator = false;
  bool block = false;
  std::uint32_t count = 0;
  std::optional<double> lat, lon;
  std::uint32_t asn = 0;
  std::vector<std::string> interests;
  std::vector<peer_id> peers;
  std::string data; // JSON text of the relayed value
  std::string reason;
  std::string link = "webrtc"; // join: how the client links to peers ("webrtc" or "peerlab")
  std::string address;         // paired: the peer's "ip:port" on peerlab's transport, if known
};

const char* msg_name(msg m);
std::string to_json(const signal_msg& m);
/// [port] + JSON text.
bytes encode_signal(port_t to, const signal_msg& m);
/// Strict: unknown types, missing or mistyped fields, out-of-range values and
/// oversized text are errors naming what was wrong.
std::optional<signal_msg> parse_signal(std::string_view json, std::string& err);

} // namespace peerlab::cdn
