// The live node's config (net/node_config.cpp): JSON text in, a node_config
// or a config_error out. A refusal says why; nothing else escapes; what is
// accepted holds the bounds the node relies on (normalised addresses, paths
// under the base folder when relative, a name and a data folder).
#include "fuzz_check.hpp"
#include "net/node_config.hpp"
#include "protocols/common/limits.hpp"

using namespace peerlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  net::node_config c;
  try {
    c = net::parse_node_config_text(text, "/base");
  } catch (const config_error& e) {
    fuzz::require_error_text(e.what());
    return 0;
  } catch (const std::exception& e) {
    fuzz::broken("the node config threw something other than config_error", e.what());
  }
  fuzz::require(text.find('\0') == std::string_view::npos, "a config with a NUL byte was accepted");
  fuzz::require(!c.name.empty() && !c.data_dir.empty(),
                "an accepted config has no name or data_dir");
  fuzz::require(c.data_dir.is_absolute(), "data_dir is not resolved against the base folder",
                c.data_dir.string());
  for (auto& p : c.provide)
    fuzz::require(p.path.is_absolute(), "a provided path is not resolved", p.path.string());
  for (auto& a : c.peers)
    fuzz::require(a.rfind(':') != std::string::npos && !a.ends_with(":0"),
                  "a peer address without a port", a);
  for (auto& d : c.downloads)
    fuzz::require(d.providers.size() <= limits::providers_per_download_max,
                  "a download lists more providers than the bound");
  return 0;
}
