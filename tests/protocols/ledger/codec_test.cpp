#include "protocols/ledger/codec.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/market.hpp"

#include "tests/kit/checksummed_frames.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::ledger;

namespace {

tx_id some_id(std::uint8_t seed) {
  tx_id id{};
  for (std::size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<std::uint8_t>(seed + i);
  return id;
}

std::vector<message> samples() {
  return {
    transfer{7, ports::payment, 11, 22, 1000, 3, 99},
    tx_status_req{8, 9, some_id(1)},
    balance_req{9, ports::payment, 11},
    transfer_ok{ports::payment, 7, some_id(2)},
    transfer_err{9, 7, error_code::overdraft, "balance 5 minus pending 0 cannot cover 10"},
    tx_status_reply{ports::payment, 8, some_id(3), tx_status::confirmed, 11, 22, 1000, 3, 99, 4, 2,
                    5},
    balance_reply{9, 9, 11, 500, 10, 6},
  };
}

using test_kit::damaged;
using test_kit::resealed;

} // namespace

TEST_CASE("ledger codec: every message survives a round trip") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    auto d = decode(f);
    INFO(message_name(f[1]));
    REQUIRE(d.ok());
    CHECK(d.msg == m);
    CHECK(encode(d.msg) == f);
  }
}

TEST_CASE("ledger codec: requests go to the ledger port, replies to the port the request named") {
  CHECK(encode(transfer{})[0] == ports::ledger);
  CHECK(encode(tx_status_req{})[0] == ports::ledger);
  CHECK(encode(balance_req{})[0] == ports::ledger);
  CHECK(encode(transfer_ok{ports::payment, 1, {}})[0] == ports::payment);
  CHECK(encode(tx_status_reply{9})[0] == 9);
  CHECK(is_reply_frame(encode(balance_reply{9})));
  CHECK_FALSE(is_reply_frame(encode(balance_req{})));
  CHECK(encode(transfer{}).size() == 2 + 8 + 1 + 5 * 8 + 8);
  CHECK(encode(tx_status_req{}).size() == 2 + 8 + 1 + 32 + 8);
  CHECK(encode(tx_status_reply{}).size() == 2 + 8 + 32 + 1 + 8 * 8 + 8);
  CHECK(encode(balance_req{}).size() == 2 + 8 + 1 + 8 + 8);
  CHECK(encode(transfer_ok{}).size() == 2 + 8 + 32 + 8);
  CHECK(encode(balance_reply{}).size() == 2 + 5 * 8 + 8);
}

TEST_CASE("ledger codec: frames end with the first 8 bytes of SHA-256 of the bytes before") {
  for (auto& m : samples())
    test_kit::check_checksum_trailer(encode(m));
}

TEST_CASE("ledger codec: a flipped bit anywhere in a frame is rejected as damaged") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    test_kit::check_bit_flips_damaged(f, message_name(f[1]), [](byte_view g) { return decode(g); });
  }
}

TEST_CASE("ledger codec: every truncation and every trailing byte is rejected") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    test_kit::check_cuts_and_trailing_rejected(f, message_name(f[1]),
                                               [](byte_view g) { return decode(g); });
  }
}

TEST_CASE("ledger codec: wrong ports, unknown types, bad codes and bad statuses are rejected") {
  bytes req = encode(transfer{1, ports::payment, 1, 2, 3, 0, 0});
  req[0] = ports::payment; // a request not on the ledger port
  CHECK(decode(req).error == damaged);
  req = resealed(req); // as a peer would build it: the checksum matches, the body is wrong
  CHECK(decode(req).error.find("wrong port") != std::string::npos);
  bytes rep = encode(transfer_ok{ports::ledger, 1, {}}); // a reply sent to the ledger port
  CHECK_FALSE(decode(rep).ok());
  bytes unk = encode(balance_req{});
  unk[1] = 0x42;
  unk = resealed(unk);
  CHECK(decode(unk).error.find("unknown ledger message type") != std::string::npos);
  bytes port0 = encode(transfer{1, 0, 1, 2, 3, 0, 0}); // reply port 0 names no role
  CHECK(decode(port0).error.find("reply_port") != std::string::npos);
  bytes self_port = encode(balance_req{1, ports::ledger, 3});
  CHECK_FALSE(decode(self_port).ok());
  bytes code = encode(transfer_err{9, 1, error_code::full, ""});
  code[10] = 7;
  code = resealed(code);
  CHECK(decode(code).error.find("unknown error code 7") != std::string::npos);
  bytes st = encode(tx_status_reply{9, 1});
  st[2 + 8 + 32] = 5;
  st = resealed(st);
  CHECK(decode(st).error.find("unknown status 5") != std::string::npos);
  tx_status_reply deep{9, 1};
  deep.depth = 3;
  deep.tip = 2;
  CHECK(decode(encode(deep)).error.find("depth beyond the tip") != std::string::npos);
}

TEST_CASE("ledger codec: random mutations never crash and are all rejected") {
  rng r(42);
  auto all = samples();
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    bytes f = encode(all[r.below(all.size())]);
    auto flips = 1 + r.below(3);
    for (std::uint64_t k = 0; k < flips; ++k)
      f[r.below(f.size())] ^= static_cast<std::uint8_t>(1 + r.below(255));
    auto d = decode(f);
    if (d.ok()) {
      ++accepted;
      CHECK(encode(d.msg) == f);
    }
  }
  CHECK(accepted == 0); // before the checksum, some mutated frames decoded (to other messages)
}
