// proxy frames (checksummed): an accepted frame re-encodes to the same bytes,
// a refused one has an error text.
#include "fuzz_check.hpp"
#include "protocols/proxy/codec.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::view(data, size);
  auto r = proxy::decode(in);
  if (!r.ok())
    return fuzz::require_error_text(r.error), 0;
  fuzz::require_same_bytes(in, proxy::encode(r.msg), "proxy");
  return 0;
}
