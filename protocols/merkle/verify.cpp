#include "protocols/merkle/merkle.hpp"

namespace peerlab::merkle {

const char* to_string(verify_error e) {
  switch (e) {
  case verify_error::none:
    return "ok";
  case verify_error::index_out_of_range:
    return "leaf index is not below the tree size";
  case verify_error::proof_length:
    return "proof has the wrong number of hashes for this index and tree size";
  case verify_error::root_mismatch:
    return "proof does not lead to the expected root";
  }
  return "?";
}

std::optional<digest> root_from_inclusion_proof(const digest& leaf, std::uint64_t index,
                                                std::uint64_t tree_size,
                                                const std::vector<digest>& path) {
  if (index >= tree_size || path.size() != inclusion_proof_length(index, tree_size))
    return std::nullopt;
  // RFC 9162 section 2.1.3.2, step by step.
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  digest r = leaf;
  for (const digest& p : path) {
    if (sn == 0)
      return std::nullopt;
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0)
    return std::nullopt;
  return r;
}

verify_error check_inclusion(const digest& leaf, std::uint64_t index, std::uint64_t tree_size,
                             const std::vector<digest>& path, const digest& root) {
  if (index >= tree_size)
    return verify_error::index_out_of_range;
  if (path.size() != inclusion_proof_length(index, tree_size))
    return verify_error::proof_length;
  auto r = root_from_inclusion_proof(leaf, index, tree_size, path);
  if (!r)
    return verify_error::proof_length; // unreachable once the length matches; kept defensive
  return *r == root ? verify_error::none : verify_error::root_mismatch;
}

} // namespace peerlab::merkle
