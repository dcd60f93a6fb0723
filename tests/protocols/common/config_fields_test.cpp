#include "protocols/common/config_fields.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace c = peerlab::cfg;
using nlohmann::json;

namespace {
std::string refusal(const json& obj, const std::string& hint = "") {
  try {
    c::required(obj, "groups[1]", "count", hint);
  } catch (const peerlab::config_error& e) {
    return e.what();
  }
  return "accepted";
}
} // namespace

TEST_CASE("cfg::required gives the member that is there", "[common][config]") {
  json obj = {{"count", 3}, {"name", "seeders"}};
  CHECK(&c::required(obj, "groups[1]", "count") == &obj["count"]);
  CHECK(c::required(obj, "groups[1]", "name", "a group name") == "seeders");
  json null_member = {{"count", nullptr}};
  CHECK(c::required(null_member, "groups[1]", "count").is_null());
}

TEST_CASE("cfg::required names the missing key, its path and what it holds", "[common][config]") {
  CHECK(refusal(json::object()) == "groups[1]: missing \"count\"");
  CHECK(refusal({{"cnt", 3}}, "how many nodes") == "groups[1]: missing \"count\" (how many nodes)");
  CHECK(refusal(json::array({1, 2})) == "groups[1]: missing \"count\"");
  CHECK(refusal("count") == "groups[1]: missing \"count\"");
}
