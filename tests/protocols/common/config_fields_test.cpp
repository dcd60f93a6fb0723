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

TEST_CASE("durations, sizes and rates read every unit and refuse others", "[common][config]") {
  using c::parse_duration;
  using c::parse_rate;
  using c::parse_size;
  CHECK(parse_duration("800us") == 800);
  CHECK(parse_duration("250ms") == 250'000);
  CHECK(parse_duration("1.5s") == 1'500'000);
  CHECK(parse_duration("10") == 10'000'000);
  CHECK(parse_duration("2m") == 120'000'000);
  CHECK(parse_duration("2min") == 120'000'000);
  CHECK(parse_duration("1h") == 3'600'000'000);
  CHECK(parse_duration("2 d") == 172'800'000'000);
  for (auto bad : {"", "ms", "-1s", "5 weeks", "1e300d", "nan", "10M"})
    CHECK_FALSE(parse_duration(bad));

  CHECK(parse_size("100") == 100u);
  CHECK(parse_size("100B") == 100u);
  CHECK(parse_size("64KiB") == 65'536u);
  CHECK(parse_size("1.5MiB") == 1'572'864u);
  CHECK(parse_size("2GiB") == 2'147'483'648u);
  CHECK(parse_size("3KB") == 3'000u);
  CHECK(parse_size("3kB") == 3'000u);
  CHECK(parse_size("2MB") == 2'000'000u);
  CHECK(parse_size("2GB") == 2'000'000'000u);
  for (auto bad : {"", "KiB", "-1B", "1TB", "1kib", "1e30GB"})
    CHECK_FALSE(parse_size(bad));

  CHECK(parse_rate("unlimited") == 0.0);
  CHECK(parse_rate("8bit/s") == 1.0);
  CHECK(parse_rate("10Mbit/s") == 1.25e6);
  CHECK(parse_rate("1Kbit/s") == 125.0);
  CHECK(parse_rate("2MiB/s") == 2'097'152.0);
  CHECK(parse_rate("5 kB/s") == 5'000.0);
  for (auto bad : {"", "10", "10Mbps", "-1B/s"})
    CHECK_FALSE(parse_rate(bad));
}
