#pragma once
// Workload and checkers of the browser CDN in the simulator. Workload item:
//
//   {"kind": "cdn", "server": "server", "clients": ["browsers", "liars"],
//    "page": "/index", "arrive": {"from": "5s", "until": "60s"}}
//
// Every client node is told where it is (`locate`, from the geographic
// latency model's placement: x/y km become lat/lon at 111.2 km per degree),
// which makes it join the server, and loads `page` once at a uniform time in
// the arrival window (again after a restart if its load was cut short).
// Checkers:
//   cdn_no_corrupt_use   every resource a client used has the SHA-224 the origin listed
//   cdn_fetches_end      every load ended (done or failed) unless its node went down;
//                        "max" = the share of failed resource fetches allowed (default 0)
//   cdn_offload          peer bytes / all resource bytes >= "min"
//   cdn_liars_evicted    some peer was evicted for bad bytes, and only adversaries were
//   cdn_settles          after the server restarts, every online client joined again
//                        within "within" (a duration)
// Figures (summary "cdn"): loads, fetches by source, offload, pair RTT, time
// to first byte by source, evictions, resumes, the server's messages per
// second (peak, mean) and the time until clients settled after a restart.
#include "sim/workload_driver.hpp"

namespace peerlab::sim::cdn_sim {

driver_kind cdn_driver_kind();

} // namespace peerlab::sim::cdn_sim
