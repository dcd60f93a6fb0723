// A live node's control channel (apps/peerlab/node_control.cpp): one line of
// text in, a command or an error naming the field out. Nothing escapes, and
// what is accepted holds the bounds the node relies on.
#include "apps/peerlab/node_control.hpp"
#include "fuzz_check.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  app::control_line c;
  std::string error;
  bool ok = false;
  try {
    ok = app::parse_control_line(text, c, error);
  } catch (const std::exception& e) {
    fuzz::broken("parse_control_line threw", e.what());
  }
  if (!ok) {
    fuzz::require_error_text(error);
    return 0;
  }
  fuzz::require(c.id > 0 && c.id < (std::uint64_t{1} << 56), "an accepted id out of range");
  fuzz::require(!c.role.empty() && !c.verb.empty(), "an accepted line without role or verb");
  fuzz::require(c.args.size() <= app::control_bounds::args_max, "more arguments than the bound");
  return 0;
}
