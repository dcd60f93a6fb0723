#pragma once
// Merkle trees of RFC 6962 / RFC 9162 section 2.1 (Certificate Transparency):
// SHA-256, leaf hash H(0x00 || data), node hash H(0x01 || left || right), no
// padding, a tree of n > 1 leaves splits at the largest power of two below n.
// Conventions, proof format and the bugs of the Go original that this avoids:
// docs/protocols/merkle.md.
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::merkle {

/// Longest inclusion path (a tree of 2^64 leaves has 64 levels).
constexpr std::size_t max_proof_hashes = 64;

/// H(0x00 || data).
digest leaf_hash(byte_view data);
/// H(0x01 || left || right).
digest node_hash(const digest& left, const digest& right);
/// Root of the empty tree: H("").
digest empty_root();

/// Number of hashes in the inclusion proof of leaf `index` in a tree of
/// `tree_size` leaves (requires index < tree_size).
std::size_t inclusion_proof_length(std::uint64_t index, std::uint64_t tree_size);

/// An append-only tree that keeps the hash of every complete subtree (level
/// arrays: level 0 holds the leaf hashes, level j the roots of the aligned
/// subtrees of 2^j leaves). The root of any prefix and any inclusion proof are
/// read from these stored nodes with O(log n) hashing, never by rehashing the
/// leaves. Memory: about 2n digests.
class tree {
public:
  tree() = default;

  /// Appends a leaf by its data (hashed as H(0x00 || data)).
  void append(byte_view data);
  /// Appends a leaf whose leaf hash is already known.
  void append_hash(const digest& leaf);
  void reserve(std::uint64_t leaves);

  std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  /// Leaf hash at `index` (throws std::out_of_range past the end).
  const digest& leaf(std::uint64_t index) const;

  /// Root of the whole tree.
  digest root() const { return root(size()); }
  /// Root of the tree made of the first `tree_size` leaves (throws
  /// std::out_of_range if tree_size > size()).
  digest root(std::uint64_t tree_size) const;

  /// Inclusion path of leaf `index` in the tree of the first `tree_size`
  /// leaves, bottom-up (the leaf's sibling first), as RFC 6962 PATH(m, D[n]).
  /// Throws std::out_of_range unless index < tree_size <= size().
  std::vector<digest> inclusion_proof(std::uint64_t index, std::uint64_t tree_size) const;

private:
  /// Hash of leaves [begin, end); begin is a multiple of the smallest power of
  /// two >= end - begin, so the range is a run of stored complete subtrees.
  digest range_root(std::uint64_t begin, std::uint64_t end) const;

  std::vector<std::vector<digest>> levels_;
};

/// Why a verification failed.
enum class verify_error {
  none,
  index_out_of_range, // index >= tree_size (includes tree_size == 0)
  proof_length,       // the path does not have inclusion_proof_length() hashes
  root_mismatch,      // the reconstructed root differs from the expected root
};

const char* to_string(verify_error e);

/// RFC 9162 section 2.1.3.2: reconstructs the root from a leaf hash, its index,
/// the tree size and the path; nullopt if index/size/path length are inconsistent.
std::optional<digest> root_from_inclusion_proof(const digest& leaf, std::uint64_t index,
                                                std::uint64_t tree_size,
                                                const std::vector<digest>& path);

/// Checks that `leaf` (a leaf hash) is the leaf at `index` of the tree of
/// `tree_size` leaves whose root is `root`.
verify_error check_inclusion(const digest& leaf, std::uint64_t index, std::uint64_t tree_size,
                             const std::vector<digest>& path, const digest& root);

inline bool verify_inclusion(const digest& leaf, std::uint64_t index, std::uint64_t tree_size,
                             const std::vector<digest>& path, const digest& root) {
  return check_inclusion(leaf, index, tree_size, path, root) == verify_error::none;
}

/// Same, starting from the leaf's data (hashed as H(0x00 || data)).
inline bool verify_inclusion_of_data(byte_view data, std::uint64_t index, std::uint64_t tree_size,
                                     const std::vector<digest>& path, const digest& root) {
  return verify_inclusion(leaf_hash(data), index, tree_size, path, root);
}

/// An inclusion proof as carried on the wire and stored: the verifier still
/// compares index and tree_size with what it asked for and what it remembers.
struct inclusion_proof {
  std::uint64_t index = 0;
  std::uint64_t tree_size = 0;
  std::vector<digest> path;

  bool operator==(const inclusion_proof&) const = default;
};

/// Binary form: u64 index, u64 tree_size (little endian), u8 count, count x 32
/// bytes. Canonical: decoding accepts exactly what encode produces.
bytes encode(const inclusion_proof& p);
/// Strict decoder: rejects truncation, trailing bytes, index >= tree_size and a
/// count that differs from inclusion_proof_length(index, tree_size). On failure
/// returns nullopt and, if `error` is given, says what was wrong.
std::optional<inclusion_proof> decode_inclusion_proof(byte_view in, std::string* error = nullptr);

} // namespace peerlab::merkle
