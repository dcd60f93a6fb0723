// gossipsub frames: an accepted frame re-encodes to the same bytes and keeps
// the bounds of the wire format (payload size, id counts, topics).
#include "fuzz_check.hpp"
#include "protocols/gossip/codec.hpp"

using namespace peerlab;

namespace {
// Small enough that the fuzzer reaches the payload bound with short inputs.
constexpr std::size_t max_message = 512;

void check_bounds(const gossip::frame_body& body) {
  if (auto* m = std::get_if<gossip::message_msg>(&body)) {
    fuzz::require(m->data.size() <= max_message, "gossip message over the payload bound");
    fuzz::require(gossip::valid_topic(m->topic), "gossip message with an invalid topic");
  }
  if (auto* m = std::get_if<gossip::ihave_msg>(&body))
    fuzz::require(!m->ids.empty() && m->ids.size() <= gossip::limits::ids_per_frame_max,
                  "gossip IHAVE id count out of bounds");
  if (auto* m = std::get_if<gossip::iwant_msg>(&body))
    fuzz::require(!m->ids.empty() && m->ids.size() <= gossip::limits::ids_per_frame_max,
                  "gossip IWANT id count out of bounds");
  if (auto* m = std::get_if<gossip::prune_msg>(&body))
    fuzz::require(m->backoff_s <= gossip::limits::backoff_s_max, "gossip PRUNE backoff too long");
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::view(data, size);
  gossip::frame_body body;
  std::string error;
  if (!gossip::decode(in, max_message, body, error))
    return fuzz::require_error_text(error), 0;
  check_bounds(body);
  fuzz::require_same_bytes(in, gossip::encode(body), "gossip");
  return 0;
}
