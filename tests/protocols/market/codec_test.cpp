#include "protocols/common/rng.hpp"
#include "protocols/market/codec.hpp"
#include "protocols/market/market.hpp"

#include "tests/kit/checksummed_frames.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::market;

namespace {

std::vector<message> samples() {
  payment_ref ref{};
  for (std::size_t i = 0; i < ref.size(); ++i)
    ref[i] = static_cast<std::uint8_t>(i * 3 + 1);
  digest h{};
  h[0] = 0xab;
  tx_id tx{};
  tx[31] = 9;
  return {payment_request{ref, h, 1234, 77, 0, 65536, 30000}, payment_notify{ref, tx},
          payment_status{ref, tx, pay_status::failed, "underpaid: 5 of 10"},
          payment_status{ref, tx, pay_status::verified, ""}};
}

using test_kit::damaged;
using test_kit::resealed;

} // namespace

TEST_CASE("market codec: round trips and ports") {
  for (auto& m : samples()) {
    auto f = encode(m);
    auto d = decode(f);
    REQUIRE(d.ok());
    CHECK(d.msg == m);
  }
  CHECK(encode(payment_notify{})[0] == ports::payment);
  CHECK(encode(payment_request{})[0] == ports::payer);
  CHECK(encode(payment_status{})[0] == ports::payer);
  CHECK(encode(samples()[0]).size() == 2 + 16 + 32 + 4 * 8 + 4 + 8);
  CHECK(encode(samples()[1]).size() == 2 + 16 + 32 + 8);
  CHECK(encode(samples()[2]).size() == 2 + 16 + 32 + 1 + 2 + 18 + 8);
}

TEST_CASE("market codec: frames end with the first 8 bytes of SHA-256 of the bytes before") {
  for (auto& m : samples())
    test_kit::check_checksum_trailer(encode(m));
}

TEST_CASE("market codec: a flipped bit anywhere in a frame is rejected as damaged") {
  for (auto& m : samples()) {
    auto f = encode(m);
    test_kit::check_bit_flips_damaged(f, message_name(f[1]), [](byte_view g) { return decode(g); });
  }
}

TEST_CASE("market codec: truncations, trailing bytes and bad values are rejected") {
  for (auto& m : samples()) {
    auto f = encode(m);
    test_kit::check_cuts_and_trailing_rejected(f, message_name(f[1]),
                                               [](byte_view g) { return decode(g); });
  }
  auto zero = samples()[0];
  std::get<payment_request>(zero).amount = 0;
  CHECK(decode(encode(zero)).error.find("amount is zero") != std::string::npos);
  auto empty = samples()[0];
  std::get<payment_request>(empty).to = 0;
  CHECK(decode(encode(empty)).error.find("empty byte range") != std::string::npos);
  auto wrong = encode(samples()[1]);
  wrong[0] = ports::payer;
  CHECK(decode(wrong).error == damaged);
  CHECK(decode(resealed(wrong)).error.find("wrong port") != std::string::npos);
  auto st = encode(samples()[2]);
  st[2 + 16 + 32] = 4;
  CHECK(decode(st).error == damaged);
  CHECK(decode(resealed(st)).error.find("unknown status 4") != std::string::npos);
  bytes unknown{ports::payer, 9, 0};
  append_frame_checksum(unknown);
  CHECK(decode(unknown).error.find("unknown payment message type") != std::string::npos);
}

TEST_CASE("market codec: random mutations are all rejected") {
  rng r(7);
  auto all = samples();
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    auto f = encode(all[r.below(all.size())]);
    f[r.below(f.size())] ^= static_cast<std::uint8_t>(1 + r.below(255));
    if (r.chance(0.3))
      f.resize(r.below(f.size() + 1));
    auto d = decode(f);
    if (d.ok()) {
      ++accepted;
      CHECK(encode(d.msg) == f);
    }
  }
  CHECK(accepted == 0); // before the checksum, some mutated frames decoded (to other messages)
}
