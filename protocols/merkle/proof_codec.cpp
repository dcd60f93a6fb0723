#include "protocols/common/wire.hpp"
#include "protocols/merkle/merkle.hpp"

namespace peerlab::merkle {

bytes encode(const inclusion_proof& p) {
  bytes out;
  out.reserve(17 + 32 * p.path.size());
  wire::writer w(out);
  w.u64(p.index);
  w.u64(p.tree_size);
  w.u8(static_cast<std::uint8_t>(p.path.size()));
  for (auto& h : p.path)
    w.fixed(h);
  return out;
}

std::optional<inclusion_proof> decode_inclusion_proof(byte_view in, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<inclusion_proof> {
    if (error)
      *error = std::string("inclusion proof: ") + why;
    return std::nullopt;
  };
  wire::reader r(in);
  inclusion_proof p;
  std::uint8_t count = 0;
  if (!r.u64(p.index))
    return fail("truncated index");
  if (!r.u64(p.tree_size))
    return fail("truncated tree size");
  if (p.index >= p.tree_size)
    return fail("index is not below the tree size");
  if (!r.u8(count))
    return fail("truncated hash count");
  if (count != inclusion_proof_length(p.index, p.tree_size))
    return fail("hash count does not match index and tree size");
  if (r.remaining() < std::size_t{count} * 32)
    return fail("truncated path");
  p.path.resize(count);
  for (auto& h : p.path)
    r.fixed(h);
  if (!r.at_end())
    return fail("trailing bytes");
  return p;
}

} // namespace peerlab::merkle
