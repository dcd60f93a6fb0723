// filexfer frames: decode never reads out of bounds, a refused frame's error
// names the message, and an accepted frame re-encodes to the same bytes.
#include "fuzz_check.hpp"
#include "protocols/filexfer/codec.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::view(data, size);
  auto r = filexfer::decode(in);
  if (!r.ok())
    return fuzz::require_error_text(r.error), 0;
  fuzz::require_same_bytes(in, filexfer::encode(r.msg), "filexfer");
  return 0;
}
