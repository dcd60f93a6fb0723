// The hello, the first frame of every connection: an accepted hello
// re-encodes to the same bytes; a refused one says what was wrong.
#include "fuzz_check.hpp"
#include "net/handshake.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::view(data, size);
  auto r = net::decode_hello(in);
  if (auto* err = std::get_if<std::string>(&r))
    return fuzz::require_error_text(*err), 0;
  auto& h = std::get<net::hello>(r);
  fuzz::require(h.listen.size() <= net::max_hello_address, "hello listen address over its bound");
  fuzz::require_same_bytes(in, net::encode_hello(h), "hello");
  return 0;
}
