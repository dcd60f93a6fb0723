#include "protocols/common/rng.hpp"
#include "protocols/fileset/codec.hpp"
#include "protocols/gossip/gossip.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::fileset;

namespace {

digest d(std::uint8_t v) {
  digest x{};
  x.fill(v);
  return x;
}

bytes without_checksum(bytes b) {
  b.resize(b.size() - payload_checksum_bytes);
  return b;
}

bytes with_checksum(bytes b, const bytes& extra) {
  b.insert(b.end(), extra.begin(), extra.end());
  auto d = sha256::of(b);
  b.insert(b.end(), d.begin(), d.begin() + payload_checksum_bytes);
  return b;
}

template <class T>
void check_sync_round_trip(const T& m) {
  auto b = encode(m);
  sync_frame f;
  std::string err;
  REQUIRE(decode_sync(b, f, err));
  REQUIRE(std::holds_alternative<T>(f));
  CHECK(std::get<T>(f) == m);
  // Every strict prefix is rejected, never read out of bounds.
  for (std::size_t n = 0; n < b.size(); ++n) {
    sync_frame g;
    std::string e;
    INFO("prefix " << n << " of " << b.size());
    CHECK_FALSE(decode_sync(byte_view{b.data(), n}, g, e));
    CHECK_FALSE(e.empty());
  }
  // Trailing bytes are rejected.
  auto longer = b;
  longer.push_back(0);
  sync_frame g;
  CHECK_FALSE(decode_sync(longer, g, err));
}

} // namespace

TEST_CASE("fileset set ids: allowed characters and length") {
  CHECK(valid_set_id("a"));
  CHECK(valid_set_id("Set-1_v2.final"));
  CHECK(valid_set_id(std::string(64, 'x')));
  CHECK_FALSE(valid_set_id(""));
  CHECK_FALSE(valid_set_id(std::string(65, 'x')));
  CHECK_FALSE(valid_set_id("a/b"));
  CHECK_FALSE(valid_set_id("a b"));
  CHECK_FALSE(valid_set_id("\xc3\xa9"));
}

TEST_CASE("fileset payloads: file and announce round trip, every truncation rejected") {
  file_msg f{"photos", 13, 0, bytes{'f', 'i', 'l', 'e', '1'}};
  announce_msg a{"videos", 3, 2, 5'000'000, d(7), 42};
  for (auto b : {encode(f), encode(a)}) {
    payload p;
    std::string err;
    REQUIRE(decode_payload(b, 1024, 64 << 20, p, err));
    for (std::size_t n = 0; n < b.size(); ++n) {
      payload q;
      std::string e;
      CHECK_FALSE(decode_payload(byte_view{b.data(), n}, 1024, 64 << 20, q, e));
    }
    // A byte inside the checksummed part: trailing bytes, named as such.
    auto longer = with_checksum(without_checksum(b), {0});
    CHECK_FALSE(decode_payload(longer, 1024, 64 << 20, p, err));
    CHECK(err.find("trailing") != std::string::npos);
    // Any single flipped bit is caught by the checksum or the field checks.
    for (std::size_t bit = 0; bit < b.size() * 8; ++bit) {
      auto c = b;
      c[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      payload q;
      std::string e;
      CHECK_FALSE(decode_payload(c, 1024, 64 << 20, q, e));
    }
  }
  payload p;
  std::string err;
  REQUIRE(decode_payload(encode(f), 1024, 1 << 20, p, err));
  CHECK(std::get<file_msg>(p) == f);
  REQUIRE(decode_payload(encode(a), 1024, 64 << 20, p, err));
  CHECK(std::get<announce_msg>(p) == a);
}

TEST_CASE("fileset payloads: field errors are named") {
  payload p;
  std::string err;
  auto fails = [&](const bytes& b, std::size_t inline_max, std::uint64_t max_file,
                   const char* what) {
    err.clear();
    CHECK_FALSE(decode_payload(b, inline_max, max_file, p, err));
    CHECK(err.find(what) != std::string::npos);
  };
  fails(encode(file_msg{"s", 4, 4, {}}), 1024, 1 << 20, "index must be below");
  fails(encode(file_msg{"s", 0, 0, {}}), 1024, 1 << 20, "set count must be 1..65536");
  fails(encode(file_msg{"s", 65537, 0, {}}), 1024, 1 << 20, "set count must be 1..65536");
  fails(encode(file_msg{"bad id", 1, 0, {}}), 1024, 1 << 20, "set id must be");
  fails(encode(file_msg{"s", 1, 0, bytes(11)}), 10, 1 << 20, "inline bound");
  fails(encode(announce_msg{"s", 1, 0, 2000, d(1), 0}), 10, 1000, "file bound");
  fails(with_checksum({9}, {}), 10, 1000, "unknown payload kind");
  fails(bytes{9}, 10, 1000, "shorter than its checksum");
  fails(bytes{}, 10, 1000, "empty payload");
  auto damaged = encode(file_msg{"s", 1, 0, bytes{1, 2, 3}});
  damaged[damaged.size() - 12] ^= 0x40; // a content byte
  fails(damaged, 10, 1000, "checksum mismatch");
  // index 0 of a one-file set and an empty file are fine
  CHECK(decode_payload(encode(file_msg{"s", 1, 0, {}}), 10, 1000, p, err));
}

TEST_CASE("fileset sync frames round trip at their bounds, every truncation rejected") {
  check_sync_round_trip(list_req{1, ""});
  check_sync_round_trip(list_req{0xffffffff, std::string(64, 'z')});
  list_resp lr{7, {}, true};
  for (int i = 0; i < 256; ++i)
    lr.sets.push_back({"set" + std::to_string(1000 + i), static_cast<std::uint32_t>(i + 1),
                       d(static_cast<std::uint8_t>(i))});
  check_sync_round_trip(lr);
  check_sync_round_trip(list_resp{8, {}, false});
  check_sync_round_trip(manifest_req{3, "abc"});
  manifest_resp mr{4, "abc", true, 3, d(9), {d(1), d(2), d(3)}};
  check_sync_round_trip(mr);
  check_sync_round_trip(manifest_resp{5, "abc", false, 0, {}, {}});
  check_sync_round_trip(fetch_req{6, "abc", 65535, 123, 1u << 20});
  check_sync_round_trip(fetch_resp{7, "abc", 0, true, 10, 4, bytes{1, 2, 3, 4, 5, 6}});
  check_sync_round_trip(fetch_resp{8, "abc", 0, true, 0, 0, {}});
  check_sync_round_trip(fetch_resp{9, "abc", 2, false, 0, 0, {}});
}

TEST_CASE("fileset sync frames: malformed fields are rejected with a reason") {
  sync_frame f;
  std::string err;
  auto fails = [&](bytes b, const char* what) {
    err.clear();
    CHECK_FALSE(decode_sync(b, f, err));
    INFO(err);
    CHECK(err.find(what) != std::string::npos);
  };
  // wrong port
  auto b = encode(list_req{1, ""});
  b[0] = ports::gossip;
  fails(b, "not for the fileset port");
  // unknown type
  b = encode(list_req{1, ""});
  b[1] = 0x30;
  fails(b, "unknown fileset frame type");
  // list: 257 sets, unordered ids
  list_resp lr{1, {{"b", 1, d(1)}, {"a", 1, d(2)}}, false};
  fails(encode(lr), "increasing id order");
  lr.sets.clear();
  for (int i = 0; i < 257; ++i)
    lr.sets.push_back({"s" + std::to_string(1000 + i), 1, d(1)});
  fails(encode(lr), "more than 256");
  // flags must be 0 or 1
  b = encode(list_resp{1, {}, true});
  b.back() = 2;
  fails(b, "flag must be 0 or 1");
  // manifest whose leaves do not match the count
  auto m = encode(manifest_resp{1, "s", true, 3, d(0), {d(1), d(2), d(3)}});
  m.resize(m.size() - 32);
  fails(m, "leaf hashes do not match");
  // fetch lengths and offsets
  fails(encode(fetch_req{1, "s", 0, 0, 0}), "chunk length");
  fails(encode(fetch_req{1, "s", 0, 0, (1u << 20) + 1}), "chunk length");
  fails(encode(fetch_req{1, "s", 65536, 0, 10}), "index above");
  fails(encode(fetch_resp{1, "s", 0, true, 3, 2, bytes{1, 2}}), "past the file size");
  fails(encode(fetch_resp{1, "s", 0, true, (64ull << 20) + 1, 0, {}}), "file bound");
}

TEST_CASE("fileset sync decoder survives random corruption") {
  peerlab::rng r(5);
  std::vector<bytes> samples = {encode(list_resp{7, {{"a", 2, d(1)}, {"b", 3, d(2)}}, true}),
                                encode(manifest_resp{4, "abc", true, 2, d(9), {d(1), d(2)}}),
                                encode(fetch_resp{7, "abc", 0, true, 10, 4, bytes{1, 2, 3}})};
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    auto b = samples[round % samples.size()];
    auto flips = 1 + r.below(3);
    for (std::uint64_t k = 0; k < flips; ++k)
      b[r.below(b.size())] ^= static_cast<std::uint8_t>(1 + r.below(255));
    sync_frame f;
    std::string err;
    if (decode_sync(b, f, err))
      ++accepted; // what decodes must re-encode to the same bytes
    if (decode_sync(b, f, err))
      std::visit([&](auto& m) { CHECK(encode(m) == b); }, f);
  }
  CHECK(accepted < 20000);
}
