#include "protocols/droplog/events.hpp"

namespace peerlab::droplog {

const char* to_string(event_kind k) {
  switch (k) {
  case event_kind::packet_rejected:
    return "packet_rejected";
  case event_kind::packet_duplicate:
    return "packet_duplicate";
  case event_kind::packet_truncated:
    return "packet_truncated";
  case event_kind::packet_damaged:
    return "packet_damaged";
  case event_kind::nack_received:
    return "nack_received";
  case event_kind::packets_lost:
    return "packets_lost";
  case event_kind::timeout:
    return "timeout";
  case event_kind::window_overflow:
    return "window_overflow";
  case event_kind::protocol_error:
    return "protocol_error";
  }
  return "?";
}

} // namespace peerlab::droplog
