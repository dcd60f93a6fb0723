#include "protocols/common/command.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <variant>

namespace {
struct ping {
  static constexpr std::string_view verb = "ping";
  std::uint64_t n = 0;
  void describe(std::string& out) const { peerlab::describe_arg(out, n); }
};
using ping_commands = std::variant<ping>;
} // namespace

TEST_CASE("typed_command_of wraps a parsed command with its id", "[common][command]") {
  auto c = peerlab::typed_command_of(42, std::optional<ping_commands>(ping{7}));
  REQUIRE(c);
  CHECK(c->id == 42);
  REQUIRE(c->as<ping_commands>());
  CHECK(std::get<ping>(*c->as<ping_commands>()).n == 7);
  CHECK(c->describe() == "ping 7");
}

TEST_CASE("typed_command_of keeps a refusal a refusal", "[common][command]") {
  CHECK_FALSE(peerlab::typed_command_of(42, std::optional<ping_commands>()));
}
