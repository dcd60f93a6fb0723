#include "protocols/common/peer_list.hpp"

#include "protocols/common/limits.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using peerlab::command_error;
using peerlab::fail_code;
using peerlab::parse_peer_list;
using peerlab::peer_id;

namespace {
std::string refusal(const std::vector<std::string>& args) {
  command_error err;
  auto peers = parse_peer_list("connect", args, err);
  CHECK_FALSE(peers);
  CHECK(err.code == fail_code::bad_request);
  return err.reason;
}
} // namespace

TEST_CASE("parse_peer_list reads decimal peer ids in order", "[common][peer_list]") {
  command_error err;
  auto peers = parse_peer_list("connect", {"3", "0", "18446744073709551615", "3"}, err);
  REQUIRE(peers);
  CHECK(*peers == std::vector<peer_id>{3, 0, 18446744073709551615ull, 3});
  CHECK(err.reason.empty());

  auto c = peerlab::parse_peers_command<peerlab::connect_peers>("connect", {"7", "9"}, err);
  REQUIRE(c);
  CHECK(c->peers == std::vector<peer_id>{7, 9});
  std::string text(c->verb);
  c->describe(text);
  CHECK(text == "connect 7 9");
}

TEST_CASE("parse_peer_list names what is wrong", "[common][peer_list]") {
  CHECK(refusal({}) == "connect needs at least one peer id");
  CHECK(refusal({"1", "abc", "2"}) == "\"abc\" is not a decimal peer id");
  CHECK(refusal({"-3"}) == "\"-3\" is not a decimal peer id");
  CHECK(refusal({""}) == "\"\" is not a decimal peer id");
  CHECK(refusal({"10 "}) == "\"10 \" is not a decimal peer id");
  CHECK(refusal({"18446744073709551616"}) == "\"18446744073709551616\" is not a decimal peer id");
  // Untrusted text is cut and made printable before it reaches the reason.
  CHECK(refusal({std::string(100, '9') + "x"}) ==
        "\"" + std::string(40, '9') + "...\" is not a decimal peer id");
  CHECK(refusal({"a\nb"}) == "\"a\\x0ab\" is not a decimal peer id");
  CHECK(refusal(std::vector<std::string>(peerlab::limits::command_args_max + 1, "1")) ==
        "connect takes at most 64 peer ids");
  command_error err;
  CHECK(parse_peer_list("connect", std::vector<std::string>(peerlab::limits::command_args_max, "1"),
                        err));
  CHECK_FALSE(peerlab::parse_peers_command<peerlab::disconnect_peers>("disconnect", {}, err));
  CHECK(err.reason == "disconnect needs at least one peer id");
}
