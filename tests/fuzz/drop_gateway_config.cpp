// One side of the file-drop gateway's config (net/drop_gateway_config.cpp):
// JSON text in, a drop_gateway_config or a config_error out. A refusal says
// why; nothing else escapes; what is accepted holds what the gateway relies
// on (two different names, folders resolved against the base folder, side a
// listening on loopback only, positive periods and timeouts).
#include "fuzz_check.hpp"
#include "net/drop_gateway_config.hpp"
#include "protocols/common/config_fields.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  net::drop_gateway_config c;
  try {
    c = net::parse_drop_gateway_config_text(text, "/base");
  } catch (const config_error& e) {
    fuzz::require_error_text(e.what());
    return 0;
  } catch (const std::exception& e) {
    fuzz::broken("the gateway config threw something other than config_error", e.what());
  }
  fuzz::require(text.find('\0') == std::string_view::npos, "a config with a NUL byte was accepted");
  fuzz::require(!c.name.empty() && !c.peer.empty() && c.name != c.peer,
                "an accepted config lacks two different names");
  fuzz::require(c.out_dir.is_absolute() && c.in_dir.is_absolute(),
                "a drop folder is not resolved against the base folder", c.out_dir.string());
  if (c.side == net::drop_gateway_config::side_t::a)
    fuzz::require(c.listen.host.rfind("127.", 0) == 0 || c.listen.host == "::1",
                  "side a listens beyond loopback", c.listen.host);
  fuzz::require(c.poll_interval > 0 && c.request_timeout > 0 && c.upstream_timeout > 0,
                "a period or timeout that is not positive");
  fuzz::require(c.max_connections > 0, "side a may hold no connection");
  return 0;
}
