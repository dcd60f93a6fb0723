#include "protocols/common/types.hpp"

namespace peerlab {

const char* port_name(port_t p) {
  switch (p) {
  case ports::file_provider:
    return "file_provider";
  case ports::file_downloader:
    return "file_downloader";
  case ports::kad:
    return "kad";
  case ports::ledger:
    return "ledger";
  case ports::payment:
    return "payment";
  case ports::gossip:
    return "gossip";
  case ports::fileset:
    return "fileset";
  case ports::droplog:
    return "droplog";
  case ports::payer:
    return "payer";
  case ports::api:
    return "api";
  case ports::client:
    return "client";
  case ports::test_echo:
    return "test_echo";
  case ports::traffic:
    return "traffic";
  default:
    return "unknown";
  }
}

} // namespace peerlab
