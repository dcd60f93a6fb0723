// One node: the commands behind the REST API, every error with its status,
// proofs, persistence across a crash.
#include "fileset_harness.hpp"

#include <catch2/catch.hpp>

using namespace fileset_test;
using namespace peerlab;

namespace {

std::string field(const event& e, const char* k) {
  auto* v = e.field(k);
  return v ? *v : std::string("<none>");
}

void expect_error(const event& e, const char* status, const std::string& words) {
  INFO(e.kind << " " << field(e, "reason"));
  CHECK(e.kind == "command_failed");
  CHECK(std::to_string(static_cast<int>(e.value("code"))) == status);
  CHECK(field(e, "reason").find(words) != std::string::npos);
}

harness one_node() {
  harness h(1);
  h.start(0);
  return h;
}

/// Verifies a get reply the way a client must: its own index, size and root.
bool verifies(const event& e, std::uint32_t index, std::uint64_t size, const digest& root) {
  auto content = bytes_from_hex(field(e, "content"));
  auto proof = fileset::split_proof(field(e, "proof"));
  if (!content || !proof)
    return false;
  return merkle::verify_inclusion_of_data(*content, index, size, *proof, root);
}

} // namespace

TEST_CASE("fileset put and get: index 0, proofs for every index, root as the client computes it") {
  auto h = one_node();
  merkle::tree client;
  std::vector<bytes> files;
  for (std::uint32_t i = 0; i < 5; ++i) {
    files.push_back(file_bytes(100 + i, 10 + i));
    client.append(files.back());
  }
  // Upload in a shuffled order: the order of arrival does not matter.
  for (std::uint32_t i : {3u, 0u, 4u, 1u, 2u}) {
    auto e = h.command(0, "put", {"photos", std::to_string(i), "5", hex_of(files[i])});
    REQUIRE(e.kind == "fileset_put");
    CHECK(field(e, "hash") == to_hex(merkle::leaf_hash(files[i])));
    CHECK(field(e, "stored") == "new");
  }
  REQUIRE(h.role(0).complete("photos"));
  CHECK(*h.role(0).root("photos") == client.root());
  for (std::uint32_t i = 0; i < 5; ++i) {
    auto e = h.command(0, "get", {"photos", std::to_string(i)});
    REQUIRE(e.kind == "fileset_file");
    CHECK(field(e, "content") == to_hex(byte_view{files[i].data(), files[i].size()}));
    CHECK(e.value("index", -1) == i);
    CHECK(e.value("tree_size") == 5);
    CHECK(field(e, "root") == to_hex(client.root()));
    CHECK(verifies(e, i, 5, client.root()));
    // A proof never verifies for another index, nor for a size whose path
    // differs (sizes 5..8 share paths for some indices: the client compares
    // the size itself, docs/protocols/merkle.md).
    CHECK_FALSE(verifies(e, (i + 1) % 5, 5, client.root()));
    CHECK_FALSE(verifies(e, i, 17, client.root()));
  }
}

TEST_CASE("fileset put: a one-file set and an empty file work") {
  auto h = one_node();
  REQUIRE(h.command(0, "put", {"solo", "0", "1", "0x"}).kind == "fileset_put");
  auto e = h.command(0, "get", {"solo", "0"});
  REQUIRE(e.kind == "fileset_file");
  CHECK(field(e, "content").empty());
  CHECK(field(e, "proof").empty());
  CHECK(verifies(e, 0, 1, merkle::leaf_hash(bytes{})));
}

TEST_CASE(
  "fileset put: re-posting the same file is idempotent, a different one is refused with 409") {
  auto h = one_node();
  auto a = file_bytes(1, 20), b = file_bytes(2, 20);
  REQUIRE(field(h.command(0, "put", {"s", "0", "2", hex_of(a)}), "stored") == "new");
  CHECK(field(h.command(0, "put", {"s", "0", "2", hex_of(a)}), "stored") == "unchanged");
  // incomplete set: still refused (first file wins; replacing would let replicas diverge)
  expect_error(h.command(0, "put", {"s", "0", "2", hex_of(b)}), "409",
               "already holds a different file");
  REQUIRE(h.command(0, "put", {"s", "1", "2", hex_of(b)}).kind == "fileset_put");
  REQUIRE(h.role(0).complete("s"));
  CHECK(field(h.command(0, "put", {"s", "1", "2", hex_of(b)}), "stored") == "unchanged");
  expect_error(h.command(0, "put", {"s", "1", "2", hex_of(a)}), "409",
               "(complete) already holds a different file");
  expect_error(h.command(0, "put", {"s", "0", "3", hex_of(a)}), "409", "has 2 files, not 3");
  CHECK(h.role(0).stored("s") == 2);
}

TEST_CASE("fileset commands: every malformed request gets a 4xx status and a reason") {
  auto h = one_node();
  expect_error(h.command(0, "put", {"s", "0", "2"}), "400", "put needs SET INDEX COUNT HEX");
  expect_error(h.command(0, "put", {"bad id", "0", "2", "00"}), "400", "set id");
  expect_error(h.command(0, "put", {"s", "-1", "2", "00"}), "400", "not a non-negative integer");
  expect_error(h.command(0, "put", {"s", "x", "2", "00"}), "400", "not a non-negative integer");
  expect_error(h.command(0, "put", {"s", "99999999999", "2", "00"}), "400",
               "not a non-negative integer");
  expect_error(h.command(0, "put", {"s", "2", "2", "00"}), "400",
               "out of range for a set of 2 files");
  expect_error(h.command(0, "put", {"s", "0", "0", "00"}), "400", "setCount");
  expect_error(h.command(0, "put", {"s", "0", "65537", "00"}), "400", "setCount");
  expect_error(h.command(0, "put", {"s", "0", "2", "0xabc"}), "400", "hex");
  expect_error(h.command(0, "put", {"s", "0", "2", "zz"}), "400", "hex");
  std::string big = "0x" + std::string(2 * (16u << 20) + 2, 'a');
  expect_error(h.command(0, "put", {"s", "0", "2", big}), "413", "larger than max_file_bytes");
  expect_error(h.command(0, "get", {"nothing", "0"}), "404", "no set nothing");
  REQUIRE(h.command(0, "put", {"s", "0", "2", "00"}).kind == "fileset_put");
  expect_error(h.command(0, "get", {"s", "0"}), "404", "incomplete on this node (1 of 2 files)");
  expect_error(h.command(0, "get", {"s", "2"}), "400", "out of range");
  expect_error(h.command(0, "get", {"s"}), "400", "get needs SET INDEX");
  expect_error(h.command(0, "frobnicate", {}), "400", "knows the verbs");
  expect_error(h.command(0, "connect", {"abc"}), "400", "not a decimal peer id");
  expect_error(h.command(0, "connect", {"0"}), "400", "cannot connect to self");
  auto st = h.command(0, "status", {"s"});
  REQUIRE(st.kind == "fileset_status");
  CHECK(st.value("count") == 2);
  CHECK(st.value("stored") == 1);
  CHECK(st.value("complete") == 0);
  CHECK(h.role(0).stored("s") == 1);
}

TEST_CASE("fileset store: a crash keeps the files, the restart rebuilds trees and serves proofs") {
  auto h = one_node();
  merkle::tree client;
  for (std::uint32_t i = 0; i < 7; ++i) {
    auto f = file_bytes(i, 33);
    client.append(f);
    REQUIRE(h.command(0, "put", {"kept", std::to_string(i), "7", hex_of(f)}).kind == "fileset_put");
  }
  REQUIRE(h.command(0, "put", {"partial", "0", "3", "0102"}).kind == "fileset_put");
  h.crash(0);
  h.start(0);
  CHECK(h.role(0).complete("kept"));
  CHECK(*h.role(0).root("kept") == client.root());
  CHECK(h.role(0).stored("partial") == 1);
  bool restored_event = false;
  for (auto& e : h.events(0))
    restored_event |= e.kind == "fileset_complete" && e.value("restored") == 1;
  CHECK(restored_event);
  auto e = h.command(0, "get", {"kept", "6"});
  REQUIRE(e.kind == "fileset_file");
  CHECK(verifies(e, 6, 7, client.root()));
  // the restarted node finishes the partial set and still refuses conflicts
  REQUIRE(h.command(0, "put", {"partial", "1", "3", "03"}).kind == "fileset_put");
  expect_error(h.command(0, "put", {"partial", "0", "3", "ff"}), "409", "different file");
}

TEST_CASE(
  "fileset adversaries: corrupt_content and corrupt_proof answers fail client verification") {
  for (auto adv : {fileset::strategy::corrupt_content, fileset::strategy::corrupt_proof}) {
    harness h(1, [adv](std::size_t) {
      auto c = harness::fast_config();
      c.adversary = adv;
      return c;
    });
    h.start(0);
    merkle::tree client;
    for (std::uint32_t i = 0; i < 4; ++i) {
      auto f = file_bytes(i, 8);
      client.append(f);
      h.command(0, "put", {"s", std::to_string(i), "4", hex_of(f)});
    }
    for (std::uint32_t i = 0; i < 4; ++i) {
      auto e = h.command(0, "get", {"s", std::to_string(i)});
      REQUIRE(e.kind == "fileset_file");
      CHECK_FALSE(verifies(e, i, 4, client.root()));
    }
  }
}

TEST_CASE("fileset config: inconsistent parameters are refused with a reason") {
  fileset::config c;
  CHECK(c.check().empty());
  c.inline_max = 1u << 20; // no room for the header in a 1 MiB gossip message
  CHECK(c.check().find("inline_max") != std::string::npos);
  c = {};
  c.max_file_bytes = 1;
  CHECK(c.check().find("max_file_bytes") != std::string::npos);
  c = {};
  c.chunk_bytes = 0;
  CHECK(c.check().find("chunk_bytes") != std::string::npos);
  c = {};
  c.manifest_quorum = 0;
  CHECK(c.check().find("manifest_quorum") != std::string::npos);
  c = {};
  c.topic = "has space";
  CHECK(c.check().find("topic") != std::string::npos);
  CHECK(fileset::strategy_from_name("drop_gossip") == fileset::strategy::drop_gossip);
  CHECK_FALSE(fileset::strategy_from_name("nonsense"));
}
