#include "protocols/merkle/merkle.hpp"

#include <openssl/evp.h>

#include <bit>
#include <stdexcept>

namespace peerlab::merkle {

namespace {

// One reusable context per thread with the algorithm fetched once: creating
// a context or fetching SHA-256 per call costs more than hashing 65 bytes.
class node_hasher {
public:
  node_hasher() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (!md_ || !ctx_)
      throw std::runtime_error("merkle: cannot set up SHA-256");
  }
  ~node_hasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  node_hasher(const node_hasher&) = delete;
  node_hasher& operator=(const node_hasher&) = delete;

  digest hash(std::uint8_t prefix, byte_view a, byte_view b = {}) {
    digest d{};
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 || EVP_DigestUpdate(ctx_, &prefix, 1) != 1 ||
        (!a.empty() && EVP_DigestUpdate(ctx_, a.data(), a.size()) != 1) ||
        (!b.empty() && EVP_DigestUpdate(ctx_, b.data(), b.size()) != 1) ||
        EVP_DigestFinal_ex(ctx_, d.data(), &n) != 1)
      throw std::runtime_error("merkle: SHA-256 failed");
    return d;
  }

private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

node_hasher& hasher() {
  thread_local node_hasher h;
  return h;
}

/// Largest power of two strictly below n (n > 1).
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

} // namespace

digest leaf_hash(byte_view data) { return hasher().hash(0x00, data); }

digest node_hash(const digest& left, const digest& right) {
  return hasher().hash(0x01, byte_view{left.data(), left.size()},
                       byte_view{right.data(), right.size()});
}

digest empty_root() { return sha256::of(byte_view{}); }

std::size_t inclusion_proof_length(std::uint64_t index, std::uint64_t tree_size) {
  // Levels below the point where the paths to `index` and to the last leaf
  // part, plus one hash per complete left subtree on the right border above it.
  const auto inner = static_cast<std::size_t>(std::bit_width(index ^ (tree_size - 1)));
  // inner is 64 when the paths part at the top of a tree of more than 2^63
  // leaves; nothing lies above that (and a shift by 64 is undefined).
  const auto border =
    inner >= 64 ? std::size_t{0} : static_cast<std::size_t>(std::popcount(index >> inner));
  return inner + border;
}

void tree::append(byte_view data) { append_hash(leaf_hash(data)); }

void tree::append_hash(const digest& leaf) {
  if (levels_.empty())
    levels_.emplace_back();
  levels_[0].push_back(leaf);
  // Every time a level gets an even count, the last two nodes form a complete
  // subtree one level up.
  for (std::size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    if (level + 1 == levels_.size())
      levels_.emplace_back();
    auto& row = levels_[level];
    auto parent = node_hash(row[row.size() - 2], row[row.size() - 1]);
    levels_[level + 1].push_back(parent);
  }
}

void tree::reserve(std::uint64_t leaves) {
  if (levels_.empty())
    levels_.emplace_back();
  for (std::size_t level = 0; (leaves >> level) > 0; ++level) {
    if (level == levels_.size())
      levels_.emplace_back();
    levels_[level].reserve(leaves >> level);
  }
}

const digest& tree::leaf(std::uint64_t index) const {
  if (index >= size())
    throw std::out_of_range("merkle::tree::leaf: index " + std::to_string(index) + " >= size " +
                            std::to_string(size()));
  return levels_[0][index];
}

digest tree::range_root(std::uint64_t begin, std::uint64_t end) const {
  // The range is a run of complete subtrees of decreasing size (the binary
  // digits of its length); the RFC tree over it folds them from the right.
  digest pieces[64];
  int count = 0;
  std::uint64_t pos = begin;
  for (std::uint64_t left = end - begin; left != 0;) {
    const int level = std::bit_width(left) - 1;
    pieces[count++] = levels_[level][pos >> level];
    pos += std::uint64_t{1} << level;
    left -= std::uint64_t{1} << level;
  }
  digest acc = pieces[count - 1];
  for (int i = count - 2; i >= 0; --i)
    acc = node_hash(pieces[i], acc);
  return acc;
}

digest tree::root(std::uint64_t tree_size) const {
  if (tree_size > size())
    throw std::out_of_range("merkle::tree::root: tree size " + std::to_string(tree_size) +
                            " > leaves " + std::to_string(size()));
  if (tree_size == 0)
    return empty_root();
  return range_root(0, tree_size);
}

std::vector<digest> tree::inclusion_proof(std::uint64_t index, std::uint64_t tree_size) const {
  if (tree_size > size() || index >= tree_size)
    throw std::out_of_range(
      "merkle::tree::inclusion_proof: need index < tree size <= leaves, got index " +
      std::to_string(index) + ", tree size " + std::to_string(tree_size) + ", leaves " +
      std::to_string(size()));
  // Walks RFC 6962 PATH(m, D[lo:hi]) from the top, collecting siblings; only
  // the first step to the left can meet an incomplete right sibling, so the
  // whole walk costs O(log n) hashes.
  std::vector<digest> path;
  path.reserve(inclusion_proof_length(index, tree_size));
  std::uint64_t lo = 0, hi = tree_size;
  while (hi - lo > 1) {
    const std::uint64_t k = split_point(hi - lo);
    if (index < lo + k) {
      path.push_back(range_root(lo + k, hi));
      hi = lo + k;
    } else {
      path.push_back(range_root(lo, lo + k));
      lo += k;
    }
  }
  return {path.rbegin(), path.rend()};
}

} // namespace peerlab::merkle
