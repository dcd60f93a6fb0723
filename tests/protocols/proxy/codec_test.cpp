#include "protocols/common/rng.hpp"
#include "protocols/proxy/codec.hpp"

#include "tests/kit/checksummed_frames.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace peerlab;
using namespace peerlab::proxy;

namespace {

template <class A>
A filled(std::uint8_t v) {
  A a{};
  for (std::size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<std::uint8_t>(v + i);
  return a;
}

// One sample of every message type (and a second shape where one has options).
std::vector<message> samples() {
  auto tok = filled<auth_token>(3);
  auto ref = filled<payment_ref>(40);
  auto tx = filled<tx_id>(90);
  metadata info{"127.0.0.1:3128", 25, 77};
  return {meta_req{1},
          connect_req{2},
          usage_report{5, tok, 3, 1'000'000, 2500},
          payment_notify{5, tok, ref, tx},
          session_end{5, tok, end_reason::client_closed, "done"},
          data_up{5, tok, 9, 40'000, bytes(300, 0x41)},
          meta{1, info},
          meta{4, metadata{"", 1, 2}},
          meta_refused{1, refusal::not_provider, "not a proxy provider"},
          connect_ok{2, 5, tok, info},
          connect_refused{2, refusal::busy, "too many clients"},
          payment_request{5, 3, 1'000'100, 2500, 2500, 77, ref},
          usage_refused{5, 3, refusal::out_of_tolerance, 2'000'000, "you used 2000000 B"},
          payment_status{5, ref, tx, pay_status::failed, "duplicate tx id"},
          session_ended{5, end_reason::unpaid, "owed 300000 B past the credit window"},
          data_down{5, 9, false, bytes(500, 0x42)},
          data_down{5, 9, true, {}}};
}

using test_kit::damaged;
using test_kit::resealed;

auto dec = [](byte_view g) { return decode(g); };

} // namespace

TEST_CASE("proxy codec: every message type round trips on its port") {
  std::set<std::size_t> kinds;
  for (auto& m : samples()) {
    auto f = encode(m);
    INFO(message_name(f[1]));
    auto d = decode(f);
    REQUIRE(d.ok());
    CHECK(d.msg == m);
    CHECK(encode(d.msg) == f);
    CHECK(f[0] == (f[1] < 0x40 ? ports::proxy : ports::proxy_client));
    CHECK(f[1] < 0x80); // the ledger's replies keep 0x80 and up
    kinds.insert(m.index());
  }
  CHECK(kinds.size() == std::variant_size_v<message>);
  CHECK(encode(meta_req{1}).size() == 2 + 8 + 8);
  CHECK(encode(usage_report{}).size() == 2 + 8 + 32 + 3 * 8 + 8);
  CHECK(encode(payment_notify{}).size() == 2 + 8 + 32 + 16 + 32 + 8);
  CHECK(encode(connect_ok{2, 5, {}, metadata{"ab", 1, 2}}).size() ==
        2 + 2 * 8 + 32 + 2 + 2 + 16 + 8);
}

TEST_CASE("proxy codec: frames end with the first 8 bytes of SHA-256 of the bytes before") {
  for (auto& m : samples())
    test_kit::check_checksum_trailer(encode(m));
}

TEST_CASE("proxy codec: a flipped bit anywhere in a frame is rejected as damaged") {
  for (auto& m : samples()) {
    if (std::holds_alternative<data_up>(m) || std::holds_alternative<data_down>(m))
      continue; // their payload bytes are covered by the random mutations below
    auto f = encode(m);
    test_kit::check_bit_flips_damaged(f, message_name(f[1]), dec);
  }
}

TEST_CASE("proxy codec: every truncation offset of every frame type is rejected") {
  for (auto& m : samples()) {
    auto f = encode(m);
    test_kit::check_cuts_and_trailing_rejected(f, message_name(f[1]), dec);
  }
}

TEST_CASE("proxy codec: bad values are named, even under a valid checksum") {
  auto err = [](const bytes& f) { return decode(resealed(f)).error; };
  SECTION("a refusal an answer does not allow") {
    auto f = encode(meta_refused{1, refusal::not_provider, ""});
    f[2 + 8] = static_cast<std::uint8_t>(refusal::busy);
    CHECK(decode(f).error == damaged);
    CHECK(err(f).find("refusal busy not allowed") != std::string::npos);
    auto u = encode(usage_refused{5, 3, refusal::terminated, 0, ""});
    u[2 + 16] = static_cast<std::uint8_t>(refusal::not_provider);
    CHECK(err(u).find("refusal not_provider not allowed") != std::string::npos);
    u[2 + 16] = 7;
    CHECK(err(u).find("unknown refusal 7") != std::string::npos);
  }
  SECTION("an unknown end reason or payment status") {
    auto f = encode(session_ended{5, end_reason::unpaid, ""});
    f[2 + 8] = 0;
    CHECK(err(f).find("unknown end reason 0") != std::string::npos);
    auto s = encode(payment_status{});
    s[2 + 8 + 16 + 32] = 4;
    CHECK(err(s).find("unknown status 4") != std::string::npos);
  }
  SECTION("data frames: flag, empty middle frame, payload and response bounds") {
    auto f = encode(data_down{5, 9, true, bytes(4, 1)});
    f[2 + 16] = 2;
    CHECK(err(f).find("last must be 0 or 1") != std::string::npos);
    auto e = encode(data_down{5, 9, false, {}});
    CHECK(decode(e).error.find("empty payload") != std::string::npos);
    auto up = encode(data_up{5, {}, 9, bounds::response_bytes_max + 1, {}});
    CHECK(decode(up).error.find("response_bytes over the bound") != std::string::npos);
    bytes big{ports::proxy_client, static_cast<std::uint8_t>(msg_type::data_down)};
    big.resize(2 + 17, 0);
    std::uint32_t n = bounds::data_payload_max + 1;
    for (int i = 0; i < 4; ++i)
      big.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    big.resize(big.size() + n, 0);
    append_frame_checksum(big);
    CHECK(decode(big).error.find("payload truncated or longer than 65536") != std::string::npos);
  }
  SECTION("a text over its bound") {
    auto f = encode(meta{1, metadata{std::string(bounds::address_max, 'a'), 1, 2}});
    REQUIRE(decode(f).ok());
    auto longer = encode(meta{1, metadata{std::string(bounds::address_max + 9, 'a'), 1, 2}});
    CHECK(longer == f); // the encoder cuts
    f[2 + 8] = 0;       // length 256, little-endian
    f[2 + 9] = 1;
    CHECK(err(f).find("address truncated or longer than 255") != std::string::npos);
  }
  SECTION("wrong port and unknown type") {
    auto f = encode(meta_req{1});
    f[0] = ports::proxy_client;
    CHECK(decode(f).error == damaged);
    CHECK(err(f).find("PROXY_META_REQ: wrong port 13") != std::string::npos);
    bytes unknown{ports::proxy, 0x7f, 0};
    append_frame_checksum(unknown);
    CHECK(decode(unknown).error.find("unknown proxy message type 127") != std::string::npos);
  }
}

TEST_CASE("proxy codec: random mutations are rejected, never misread") {
  rng r(11);
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
  CHECK(accepted == 0);
}

#include "protocols/proxy/commands.hpp"

TEST_CASE("proxy commands: text forms parse, bad ones are named") {
  command_error err;
  auto p = parse_command("provide_proxy", {"start", "25", "127.0.0.1:3128"}, err);
  REQUIRE(p);
  CHECK(std::get<provide_proxy>(*p).fee_per_kb == 25);
  CHECK(std::get<provide_proxy>(*p).address == "127.0.0.1:3128");
  CHECK(!std::get<provide_proxy>(*parse_command("provide_proxy", {"stop"}, err)).start);
  CHECK(std::get<open_session>(*parse_command("proxy_open", {"best"}, err)).provider == 0);
  CHECK(std::get<open_session>(*parse_command("proxy_open", {"7"}, err)).provider == 7);
  auto m = parse_command("metered", {"5", "100", "2000"}, err);
  REQUIRE(m);
  CHECK(std::get<metered>(*m).down == 2000);
  auto bad = [&](std::string_view verb, std::vector<std::string> args, std::string_view says) {
    command_error e;
    CHECK(!parse_command(verb, args, e));
    INFO(e.reason);
    CHECK(e.reason.find(says) != std::string::npos);
    CHECK(e.code == fail_code::bad_request);
  };
  bad("provide_proxy", {"start", "0"}, "positive integer");
  bad("provide_proxy", {"start", "5", "nohostport"}, "HOST:PORT");
  bad("proxy_open", {"x"}, "neither best nor a node id");
  bad("metered", {"5", "-1", "2"}, "decimal integers");
  bad("proxy_fetch", {"0", "10"}, "REQUEST_BYTES must be 1..65536");
  bad("proxy_fetch", {"10", "99999999999"}, "RESPONSE_BYTES must be at most");
  bad("proxy_usage", {"x"}, "takes no arguments");
  bad("teleport", {}, "the proxy knows");
}
