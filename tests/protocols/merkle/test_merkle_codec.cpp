// The binary inclusion-proof codec: round trips, truncation at every offset,
// inconsistent headers and random corruption.
#include "protocols/common/rng.hpp"
#include "protocols/merkle/merkle.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::merkle;

namespace {

tree make_tree(int n) {
  tree t;
  for (int i = 0; i < n; ++i)
    t.append(bytes{static_cast<std::uint8_t>(i), 0x5a});
  return t;
}

inclusion_proof proof_of(const tree& t, std::uint64_t i, std::uint64_t n) {
  return {i, n, t.inclusion_proof(i, n)};
}

} // namespace

TEST_CASE("merkle proof codec round trips every proof of a 40-leaf tree", "[merkle][codec]") {
  auto t = make_tree(40);
  for (std::uint64_t n = 1; n <= 40; ++n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      auto p = proof_of(t, i, n);
      auto enc = encode(p);
      REQUIRE(enc.size() == 17 + 32 * p.path.size());
      std::string err;
      auto back = decode_inclusion_proof(enc, &err);
      REQUIRE(back);
      REQUIRE(*back == p);
      REQUIRE(err.empty());
    }
  }
}

TEST_CASE("merkle proof codec rejects truncation at every offset and trailing bytes",
          "[merkle][codec]") {
  auto t = make_tree(37);
  auto enc = encode(proof_of(t, 20, 37));
  REQUIRE(enc.size() == 17 + 32 * 6);
  for (std::size_t len = 0; len < enc.size(); ++len) {
    INFO("length " << len);
    std::string err;
    REQUIRE_FALSE(decode_inclusion_proof(byte_view{enc.data(), len}, &err));
    REQUIRE(err.rfind("inclusion proof: ", 0) == 0);
  }
  auto longer = enc;
  longer.push_back(0);
  std::string err;
  CHECK_FALSE(decode_inclusion_proof(longer, &err));
  CHECK(err == "inclusion proof: trailing bytes");
}

TEST_CASE("merkle proof codec rejects inconsistent headers", "[merkle][codec]") {
  auto t = make_tree(8);
  std::string err;

  auto p = proof_of(t, 3, 8);
  p.index = 8; // index not below size
  CHECK_FALSE(decode_inclusion_proof(encode(p), &err));
  CHECK(err == "inclusion proof: index is not below the tree size");

  p = proof_of(t, 3, 8);
  p.tree_size = 0;
  p.index = 0;
  CHECK_FALSE(decode_inclusion_proof(encode(p), &err));
  CHECK(err == "inclusion proof: index is not below the tree size");

  p = proof_of(t, 3, 8);
  p.path.pop_back(); // count too small for (3, 8)
  CHECK_FALSE(decode_inclusion_proof(encode(p), &err));
  CHECK(err == "inclusion proof: hash count does not match index and tree size");

  p = proof_of(t, 3, 8);
  p.tree_size = 4; // (3, 4) needs 2 hashes, 3 given
  CHECK_FALSE(decode_inclusion_proof(encode(p), &err));
  CHECK(err == "inclusion proof: hash count does not match index and tree size");

  // Index 0 of a one-leaf tree: an empty path is valid.
  inclusion_proof single{0, 1, {}};
  auto back = decode_inclusion_proof(encode(single), &err);
  REQUIRE(back);
  CHECK(*back == single);
}

TEST_CASE("merkle proof codec survives random corruption and stays canonical", "[merkle][codec]") {
  auto t = make_tree(100);
  rng r(42);
  std::size_t accepted = 0, rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    auto n = 1 + r.below(100);
    auto i = r.below(n);
    auto enc = encode(proof_of(t, i, n));
    auto flips = 1 + r.below(3);
    for (std::uint64_t f = 0; f < flips; ++f)
      enc[r.below(enc.size())] ^= static_cast<std::uint8_t>(1 + r.below(255));
    if (r.chance(0.2))
      enc.resize(r.below(enc.size() + 1));
    auto back = decode_inclusion_proof(enc);
    if (back) {
      // Whatever decodes re-encodes to the same bytes.
      REQUIRE(encode(*back) == enc);
      ++accepted;
    } else {
      ++rejected;
    }
  }
  // Flips in the path bytes decode fine (they are only caught by verification);
  // flips in the header are rejected: both kinds must occur.
  CHECK(accepted > 1000);
  CHECK(rejected > 1000);
}

TEST_CASE("merkle proof length where the paths part at the top of a tree over 2^63 leaves",
          "[merkle][codec]") {
  // The paths of leaf 2^63 - 1 and the last leaf part at bit 63: 63 levels of
  // the left subtree plus its right sibling, nothing above (this once shifted
  // by 64, which x86 reads as 0 and counted 63 more hashes).
  const std::uint64_t top = std::uint64_t{1} << 63;
  CHECK(inclusion_proof_length(top - 1, top + 1) == 64);
  CHECK(inclusion_proof_length(0, top + 1) == 64);
  CHECK(inclusion_proof_length(top, top + 1) == 1);
  inclusion_proof p{top - 1, top + 1, std::vector<digest>(64)};
  std::string err;
  auto back = decode_inclusion_proof(encode(p), &err);
  REQUIRE(back);
  CHECK(*back == p);
}
