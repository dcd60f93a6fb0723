// file-set wire: gossip payloads and back-sync frames. The first input byte
// picks the layer. Accepted input re-encodes to the same bytes and keeps the
// bounds it was decoded with.
#include "fuzz_check.hpp"
#include "protocols/fileset/codec.hpp"

using namespace peerlab;

namespace {
constexpr std::size_t max_inline = 256;
constexpr std::uint64_t max_file = 1u << 20;

void payload(byte_view in) {
  fileset::payload p;
  std::string error;
  if (!fileset::decode_payload(in, max_inline, max_file, p, error))
    return fuzz::require_error_text(error);
  std::visit(
    [&](const auto& m) {
      fuzz::require(fileset::valid_set_id(m.set), "fileset payload with an invalid set id");
      fuzz::require(m.index < m.count, "fileset payload index not below its count");
      fuzz::require_same_bytes(in, fileset::encode(m), "fileset payload");
    },
    p);
  if (auto* f = std::get_if<fileset::file_msg>(&p))
    fuzz::require(f->content.size() <= max_inline, "fileset inline file over its bound");
  if (auto* a = std::get_if<fileset::announce_msg>(&p))
    fuzz::require(a->size <= max_file, "fileset announced size over its bound");
}

void sync(byte_view in) {
  fileset::sync_frame f;
  std::string error;
  if (!fileset::decode_sync(in, f, error))
    return fuzz::require_error_text(error);
  std::visit(
    [&](const auto& m) { fuzz::require_same_bytes(in, fileset::encode(m), "fileset sync"); }, f);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto in = fuzz::view(data + 1, size - 1);
  if (data[0] & 1)
    sync(in);
  else
    payload(in);
  return 0;
}
