// RFC 6962 test vectors as published by transparency-dev/merkle
// (testonly/constants.go: leaf inputs, node hashes, roots; proof/verify_test.go:
// inclusion proofs), checked against protocols/merkle.
#include "protocols/merkle/merkle.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace peerlab;
using namespace peerlab::merkle;

namespace {

digest hd(const char* hex) {
  auto d = digest_from_hex(hex);
  REQUIRE(d);
  return *d;
}

std::vector<bytes> leaf_inputs() {
  std::vector<bytes> out;
  for (const char* h : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                        "606162636465666768696a6b6c6d6e6f"})
    out.push_back(*bytes_from_hex(h));
  return out;
}

tree vector_tree() {
  tree t;
  for (auto& l : leaf_inputs())
    t.append(l);
  return t;
}

} // namespace

TEST_CASE("merkle empty tree root is SHA-256 of nothing", "[merkle][vectors]") {
  tree t;
  CHECK(t.size() == 0);
  CHECK(to_hex(t.root()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(empty_root() == t.root(0));
}

TEST_CASE("merkle leaf hashes match the published level 0 node hashes", "[merkle][vectors]") {
  const char* level0[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
  };
  auto t = vector_tree();
  auto in = leaf_inputs();
  for (std::size_t i = 0; i < 8; ++i) {
    CHECK(t.leaf(i) == hd(level0[i]));
    CHECK(leaf_hash(in[i]) == hd(level0[i]));
  }
  // Level 1 and 2 node hashes, through node_hash of the level below.
  CHECK(node_hash(t.leaf(0), t.leaf(1)) ==
        hd("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"));
  CHECK(node_hash(t.leaf(2), t.leaf(3)) ==
        hd("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"));
  CHECK(node_hash(t.leaf(4), t.leaf(5)) ==
        hd("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"));
  CHECK(node_hash(t.leaf(6), t.leaf(7)) ==
        hd("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"));
}

TEST_CASE("merkle roots of every prefix of the vector leaves match the published roots",
          "[merkle][vectors]") {
  const char* roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  // Both from the full tree (roots of prefixes) and while growing.
  auto full = vector_tree();
  tree growing;
  auto in = leaf_inputs();
  for (std::uint64_t n = 0; n <= 8; ++n) {
    INFO("tree size " << n);
    CHECK(to_hex(full.root(n)) == roots[n]);
    CHECK(to_hex(growing.root()) == roots[n]);
    if (n < 8)
      growing.append(in[n]);
  }
  CHECK(to_hex(full.root()) == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

TEST_CASE("merkle inclusion proofs match the published proofs", "[merkle][vectors]") {
  struct vec {
    std::uint64_t index, size;
    std::vector<const char*> path;
  };
  // transparency-dev numbers leaves from 1 in this table; these are 0-based.
  const std::vector<vec> vectors = {
    {0, 1, {}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    // From the notes (protocols.md 3.2): (index 6, size 7).
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
  };
  auto t = vector_tree();
  auto in = leaf_inputs();
  for (auto& v : vectors) {
    INFO("index " << v.index << " size " << v.size);
    std::vector<digest> expected;
    for (auto* h : v.path)
      expected.push_back(hd(h));
    auto got = t.inclusion_proof(v.index, v.size);
    CHECK(got == expected);
    CHECK(inclusion_proof_length(v.index, v.size) == expected.size());
    CHECK(verify_inclusion_of_data(in[v.index], v.index, v.size, expected, t.root(v.size)));
  }
}

TEST_CASE("merkle index 0 of a set of one and of many verifies", "[merkle][vectors]") {
  // The Go original could not serve index 0 through its API; the library has
  // no special case for it.
  tree t;
  bytes first{'a'};
  t.append(first);
  CHECK(t.inclusion_proof(0, 1).empty());
  CHECK(t.root() == leaf_hash(first));
  CHECK(verify_inclusion_of_data(first, 0, 1, {}, t.root()));
  for (int i = 1; i < 13; ++i)
    t.append(bytes{static_cast<std::uint8_t>(i)});
  auto p = t.inclusion_proof(0, 13);
  CHECK(p.size() == 4);
  CHECK(verify_inclusion_of_data(first, 0, 13, p, t.root()));
}
