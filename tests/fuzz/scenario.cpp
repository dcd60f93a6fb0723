// The scenario loader (sim/scenario*.cpp): JSON text in, a validated
// scenario or a config_error out. An accepted scenario parses again from its
// own text to the same resolved parameters; a refusal says why; nothing else
// escapes (no std::exception of another kind, no crash, no deep recursion).
#include "fuzz_check.hpp"
#include "protocols/registry.hpp"
#include "sim/scenario.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  sim::scenario s;
  try {
    s = sim::parse_scenario(text, "fuzz.json");
  } catch (const config_error& e) {
    fuzz::require_error_text(e.what());
    return 0;
  } catch (const std::exception& e) {
    fuzz::broken("the scenario loader threw something other than config_error", e.what());
  }
  fuzz::require(text.find('\0') == std::string::npos, "a scenario with a NUL byte was accepted");
  fuzz::require(s.duration > 0 && !s.groups.empty(),
                "an accepted scenario has no duration or group");
  auto resolved = s.resolved().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  try {
    auto again = sim::parse_scenario(s.source_text, "again.json");
    fuzz::require(again.resolved().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) ==
                    resolved,
                  "an accepted scenario re-validates to other parameters");
  } catch (const std::exception& e) {
    fuzz::broken("an accepted scenario does not re-validate", e.what());
  }
  return 0;
}
