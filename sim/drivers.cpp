// The registry of protocol workload drivers. Adding one: a line here that
// names its kind and points at its validate/make functions and checkers.
#include "sim/workload_driver.hpp"

#include "sim/drivers/cdn_driver.hpp"
#include "sim/drivers/dht_driver.hpp"
#include "sim/drivers/market_driver.hpp"
#include "sim/drivers/fileset_driver.hpp"
#include "sim/drivers/drop_driver.hpp"
#include "sim/drivers/filexfer_driver.hpp"
#include "sim/drivers/proxy_driver.hpp"

namespace peerlab::sim {

const std::map<std::string, driver_kind>& driver_kinds() {
  static const std::map<std::string, driver_kind> kinds = {
    {"dht", dht::kind()},
    {"market", market_sim::market_driver_kind()},
    {"fileset", fileset_sim::fileset_driver_kind()},
    {"droplog", drop::droplog_driver_kind()},
    {"downloads", filexfer_sim::filexfer_driver_kind()},
    {"proxy", proxy_sim::proxy_driver_kind()},
    {"cdn", cdn_sim::cdn_driver_kind()},
  };
  return kinds;
}

} // namespace peerlab::sim
