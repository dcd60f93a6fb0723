#pragma once
// How a Kademlia node names another: transport peer id, 256-bit id (always
// SHA-256 of the peer id, checked on receipt) and an address (empty in the
// simulator, "host:port" live).
#include "protocols/kad/ids.hpp"

#include <string>

namespace peerlab::kad {

struct contact {
  peer_id peer = 0;
  kad_id id{};
  std::string address;

  bool operator==(const contact&) const = default;
};

inline contact make_contact(peer_id p, std::string address = {}) {
  return contact{p, id_of(p), std::move(address)};
}

} // namespace peerlab::kad
