// JSON request bodies from hostile clients: depth is measured on the text.
#include "net/json_body.hpp"

#include <catch2/catch.hpp>

using peerlab::net::json_depth;
using peerlab::net::parse_json_body;

TEST_CASE("json body: depth counts objects and arrays, not brackets inside strings",
          "[net][json]") {
  CHECK(json_depth("1", 32) == 0);
  CHECK(json_depth(R"({"a": [1, {"b": []}]})", 32) == 4);
  CHECK(json_depth(R"({"a": "[[[[\"{{{{"})", 32) == 1);
  CHECK(json_depth(std::string(1000, '['), 32) == 33); // stops counting past the limit
}

TEST_CASE("json body: too deep and not JSON are refused with what was wrong", "[net][json]") {
  std::string err;
  CHECK_FALSE(parse_json_body(std::string(32u << 20, '['), err));
  CHECK(err == "the body nests objects and arrays deeper than 32 levels");
  CHECK_FALSE(parse_json_body("{oops", err));
  CHECK(err == "the body is not valid JSON");
  std::string deep_ok = std::string(32, '[') + std::string(32, ']');
  auto j = parse_json_body(deep_ok, err);
  REQUIRE(j);
  CHECK(j->is_array());
}

TEST_CASE("json body: a NUL byte is refused, not taken for the end of the body", "[net][json]") {
  std::string err;
  using namespace std::string_literals;
  CHECK_FALSE(parse_json_body("{\"a\": 1}\0{\"b\": [1, 2]}"s, err));
  CHECK(err == "the body is not valid JSON (NUL byte at offset 8)");
  CHECK_FALSE(parse_json_body("\"a\0b\""s, err));
  CHECK(err == "the body is not valid JSON (NUL byte at offset 2)");
}

TEST_CASE("json body: a repeated key keeps its last value and the depth bound still counts the "
          "text",
          "[net][json]") {
  // Found by fuzz_json_body: the dropped first value nests deeper than what is kept.
  std::string text = R"({"c": [1, {"b": [true, null, "s\"]"]}], "c": -0.5e6})";
  std::string err;
  auto j = parse_json_body(text, err);
  REQUIRE(j);
  CHECK((*j)["c"] == -0.5e6);
  CHECK(json_depth(text, 32) == 4);
  CHECK_FALSE(parse_json_body(text, err, 3));
  CHECK(err == "the body nests objects and arrays deeper than 3 levels");
}
