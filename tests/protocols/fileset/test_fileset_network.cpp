// Many nodes: replication through gossip, large files announced and fetched,
// back-sync of late joiners and of nodes that missed messages, adversaries.
#include "fileset_harness.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace fileset_test;
using namespace peerlab;

namespace {

/// Starts nodes [0, n); each then connects to `k` random other nodes among them.
void start_wired(harness& h, std::size_t n, std::size_t k, std::uint64_t seed) {
  for (std::size_t i = 0; i < n; ++i)
    h.start(i);
  rng r(seed);
  for (std::size_t i = 0; i < n; ++i) {
    std::set<std::size_t> peers;
    while (peers.size() < std::min(k, n - 1)) {
      auto p = r.below(n);
      if (p != i)
        peers.insert(p);
    }
    h.connect(i, {peers.begin(), peers.end()});
  }
}

/// fast_config for every node; the nodes `is_adversary` picks play `s`.
std::function<fileset::config(std::size_t)>
with_adversary(fileset::strategy s, std::function<bool(std::size_t)> is_adversary) {
  return [=](std::size_t i) {
    auto c = harness::fast_config();
    if (is_adversary(i))
      c.adversary = s;
    return c;
  };
}

struct published {
  std::string set;
  std::vector<bytes> files;
  digest root{};
};

published publish(harness& h, std::size_t node, const std::string& set,
                  std::vector<std::size_t> sizes, std::uint64_t seed) {
  published p{set, {}, {}};
  merkle::tree t;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    p.files.push_back(file_bytes(seed * 1000 + i, sizes[i]));
    t.append(p.files.back());
    auto e = h.command(
      node, "put", {set, std::to_string(i), std::to_string(sizes.size()), hex_of(p.files.back())});
    REQUIRE(e.kind == "fileset_put");
  }
  p.root = t.root();
  return p;
}

/// Every listed node completed the set with the publisher's root, and serves
/// every file with a proof that verifies against it.
void expect_replicated(harness& h, const published& p, const std::vector<std::size_t>& nodes) {
  for (auto n : nodes) {
    INFO("node " << n << " set " << p.set);
    REQUIRE(h.role(n).complete(p.set));
    CHECK(*h.role(n).root(p.set) == p.root);
    for (std::uint32_t i = 0; i < p.files.size(); ++i) {
      auto e = h.command(n, "get", {p.set, std::to_string(i)});
      REQUIRE(e.kind == "fileset_file");
      auto content = bytes_from_hex(*e.field("content"));
      auto proof = fileset::split_proof(*e.field("proof"));
      REQUIRE(content);
      REQUIRE(proof);
      CHECK(*content == p.files[i]);
      CHECK(merkle::verify_inclusion_of_data(*content, i, p.files.size(), *proof, p.root));
    }
  }
}

std::vector<std::size_t> range(std::size_t a, std::size_t b) {
  std::vector<std::size_t> v;
  for (auto i = a; i < b; ++i)
    v.push_back(i);
  return v;
}

double total(harness& h, const std::string& name) {
  double s = 0;
  for (std::size_t i = 0; i < h.size(); ++i)
    s += h.counter(i, name);
  return s;
}

std::size_t stored_via(harness& h, std::size_t node, const std::string& via) {
  std::size_t n = 0;
  for (auto& e : h.events(node))
    if (e.kind == "fileset_stored" && *e.field("via") == via)
      ++n;
  return n;
}

} // namespace

TEST_CASE("fileset network: a set published at one node reaches all 30 nodes through gossip") {
  harness h(30);
  start_wired(h, 30, 6, 11);
  h.run_for(3 * us_per_s);
  auto p = publish(h, 7, "photos", {100, 0, 2000, 5, 60'000}, 1);
  h.run_for(2 * us_per_s);
  expect_replicated(h, p, range(0, 30));
  CHECK(total(h, "fileset.fetch_requests") == 0); // every file fit inline
  for (std::size_t i = 0; i < 30; ++i)
    if (i != 7)
      CHECK(stored_via(h, i, "gossip") == 5);
}

TEST_CASE("fileset network: files above inline_max are announced, fetched in chunks and checked") {
  auto cfg = [](std::size_t) {
    auto c = harness::fast_config();
    c.inline_max = 1024;
    c.max_file_bytes = 1u << 20;
    c.chunk_bytes = 16u << 10;
    return c;
  };
  harness h(20, cfg);
  start_wired(h, 20, 5, 12);
  h.run_for(3 * us_per_s);
  auto p = publish(h, 0, "videos", {300'000, 50, 1025, 1u << 20}, 2);
  h.run_for(10 * us_per_s);
  expect_replicated(h, p, range(0, 20));
  CHECK(total(h, "fileset.fetch_requests") >= 19 * 3);
  CHECK(total(h, "fileset.corrupt_rejected") == 0);
  CHECK(total(h, "fileset.bad_peers") == 0);
}

TEST_CASE(
  "fileset back-sync: a node that joins after the set was published fetches it from peers") {
  harness h(11);
  start_wired(h, 10, 4, 13);
  h.run_for(3 * us_per_s);
  auto p = publish(h, 2, "archive", {10, 20, 30, 40, 50, 60, 70}, 3);
  h.run_for(6 * us_per_s); // past the message cache: no IWANT can bring it
  expect_replicated(h, p, range(0, 10));
  h.start(10);
  h.connect(10, {1, 4, 8});
  h.run_for(3 * us_per_s);
  expect_replicated(h, p, {10});
  CHECK(stored_via(h, 10, "sync") == 7);
  CHECK(stored_via(h, 10, "gossip") == 0);
  CHECK(h.counter(10, "fileset.manifests_adopted") == 1);
}

TEST_CASE("fileset back-sync: a node whose gossip was cut while the set spread catches up") {
  harness h(12);
  start_wired(h, 12, 4, 14);
  h.run_for(3 * us_per_s);
  // Node 5 receives no gossip MESSAGE (type 2) for the next 3 s.
  time_us cut_until = h.now() + 3 * us_per_s;
  h.drop = [&](peer_id, peer_id to, const bytes& f) {
    return to == 5 && h.now() < cut_until && f.size() > 1 && f[1] == 2;
  };
  auto p = publish(h, 0, "missed", {1, 2, 3, 4}, 4);
  h.run_for(1 * us_per_s);
  CHECK_FALSE(h.role(5).complete("missed"));
  h.run_for(6 * us_per_s); // the periodic sync round (2 s) finds it
  expect_replicated(h, p, range(0, 12));
  CHECK(stored_via(h, 5, "sync") >= 1);
}

TEST_CASE("fileset back-sync: a node that crashed mid-set restarts and completes it") {
  harness h(8);
  start_wired(h, 8, 3, 15);
  h.run_for(3 * us_per_s);
  published p{"crashy", {}, {}};
  merkle::tree t;
  for (std::uint32_t i = 0; i < 6; ++i) {
    p.files.push_back(file_bytes(500 + i, 64));
    t.append(p.files.back());
  }
  p.root = t.root();
  for (std::uint32_t i = 0; i < 3; ++i)
    h.command(0, "put", {"crashy", std::to_string(i), "6", hex_of(p.files[i])});
  h.run_for(us_per_s);
  h.crash(3);
  CHECK(h.role(3).stored("crashy") == 3);
  for (std::uint32_t i = 3; i < 6; ++i)
    h.command(0, "put", {"crashy", std::to_string(i), "6", hex_of(p.files[i])});
  h.run_for(us_per_s);
  h.start(3);
  h.connect(3, {0, 1, 2});
  h.run_for(3 * us_per_s);
  expect_replicated(h, p, range(0, 8));
  CHECK(stored_via(h, 3, "sync") == 3);
}

TEST_CASE("fileset back-sync: files served corrupted are rejected and fetched from honest peers") {
  // Nodes 0..3 corrupt every file they serve; 4..7 are honest.
  harness h(
    9, with_adversary(fileset::strategy::corrupt_content, [](std::size_t i) { return i < 4; }));
  start_wired(h, 8, 7, 16);
  h.run_for(3 * us_per_s);
  auto p = publish(h, 5, "guarded", {10, 11, 12, 13, 14, 15, 16, 17}, 5);
  h.run_for(6 * us_per_s);
  h.start(8);
  h.connect(8, {0, 1, 2, 3, 4, 6});
  h.run_for(5 * us_per_s);
  expect_replicated(h, p, {8});
  CHECK(stored_via(h, 8, "sync") == 8);
  CHECK(h.counter(8, "fileset.corrupt_rejected") >= 1);
  CHECK(h.counter(8, "fileset.bad_peers") >= 1);
  for (auto& e : h.events(8))
    if (e.kind == "fileset_bad_peer")
      CHECK(std::stoull(*e.field("peer")) < 4); // no honest node is blamed
}

TEST_CASE("fileset back-sync: a manifest whose leaves do not rebuild the root is refused") {
  // Nodes 0..4 serve wrong leaf hashes in manifests; only node 5 is honest.
  harness h(7,
            with_adversary(fileset::strategy::corrupt_proof, [](std::size_t i) { return i < 5; }));
  start_wired(h, 6, 5, 17);
  h.run_for(3 * us_per_s);
  auto p = publish(h, 5, "manifested", {1, 2, 3}, 6);
  h.run_for(6 * us_per_s); // past the message cache: no IWANT can bring it
  h.start(6);
  h.connect(6, {0, 1, 2, 3, 4, 5});
  h.run_for(10 * us_per_s);
  expect_replicated(h, p, {6});
  CHECK(stored_via(h, 6, "sync") == 3);
  CHECK(h.counter(6, "fileset.bad_manifests") >= 1);
  CHECK(h.counter(6, "fileset.manifests_adopted") == 1);
}

TEST_CASE("fileset adversaries: invalid-message flooders are pruned and graylisted, honest sets "
          "still spread") {
  harness h(24, with_adversary(fileset::strategy::flood_invalid,
                               [](std::size_t i) { return i == 0 || i == 1; }));
  start_wired(h, 24, 6, 18);
  h.run_for(10 * us_per_s);
  auto p = publish(h, 9, "honest", {64, 64, 64}, 7);
  h.run_for(3 * us_per_s);
  expect_replicated(h, p, range(2, 24));
  CHECK(total(h, "gossip.invalid") > 10);
  std::size_t neighbours = 0, graylisted = 0;
  for (std::size_t i = 2; i < 24; ++i)
    for (peer_id adv : {0, 1}) {
      auto peers = h.role(i).gossip().peers();
      if (std::find(peers.begin(), peers.end(), adv) == peers.end())
        continue;
      ++neighbours;
      auto mesh = h.role(i).gossip().mesh("file-set");
      CHECK(std::find(mesh.begin(), mesh.end(), adv) == mesh.end());
      graylisted += h.role(i).gossip().score(adv) < -80;
    }
  CHECK(neighbours >= 6);
  CHECK(graylisted == neighbours);
  // No honest node stored anything the flooders made up.
  for (std::size_t i = 2; i < 24; ++i)
    for (auto& e : h.events(i))
      if (e.kind == "fileset_stored")
        CHECK(*e.field("set") == "honest");
}

TEST_CASE("fileset adversaries: a quarter of nodes that never forward does not stop replication") {
  harness h(
    24, with_adversary(fileset::strategy::drop_gossip, [](std::size_t i) { return i % 4 == 1; }));
  start_wired(h, 24, 5, 19);
  h.run_for(3 * us_per_s);
  auto p = publish(h, 0, "through", {10, 20, 30, 40}, 8);
  h.run_for(6 * us_per_s);
  expect_replicated(h, p, range(0, 24));
  CHECK(total(h, "fileset.adversary_dropped") > 0);
}
