// Kademlia frames: an accepted frame re-encodes to the same bytes (so two
// frames never mean one message), a refused one names the field.
#include "fuzz_check.hpp"
#include "protocols/kad/codec.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::view(data, size);
  auto d = kad::decode(in);
  if (!d.ok)
    return fuzz::require_error_text(d.error), 0;
  fuzz::require_same_bytes(in, kad::encode(d.msg), "kad");
  return 0;
}
