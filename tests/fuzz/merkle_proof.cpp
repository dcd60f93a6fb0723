// Merkle inclusion proofs: the decoder accepts exactly what encode produces,
// with index < tree_size and a path of the length the tree needs.
#include "fuzz_check.hpp"
#include "protocols/merkle/merkle.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::view(data, size);
  std::string error;
  auto p = merkle::decode_inclusion_proof(in, &error);
  if (!p)
    return fuzz::require_error_text(error), 0;
  fuzz::require(p->index < p->tree_size, "merkle proof index not below tree size");
  fuzz::require(p->path.size() == merkle::inclusion_proof_length(p->index, p->tree_size),
                "merkle proof path of the wrong length");
  fuzz::require_same_bytes(in, merkle::encode(*p), "merkle proof");
  // Verification of any accepted proof answers without crashing.
  digest leaf{}, root{};
  (void)merkle::check_inclusion(leaf, p->index, p->tree_size, p->path, root);
  return 0;
}
