#pragma once
// Workload and checkers of the replicated file sets in the
// simulator. Workload item (every field but "groups" and "publishers" optional):
//
//   {"kind": "fileset", "groups": ["replicas", "late", "corrupt"], "publishers": "replicas",
//    "degree": 8, "sets": 4, "files_per_set": 8, "file_size": "1KiB",
//    "large_size": "256KiB", "large_share": 0.1, "start": "10s", "set_interval": "5s",
//    "file_interval": "0s", "settle": "15s",
//    "client_fetches": 200, "client_start": "20s", "client_interval": "100ms"}
//
// Every node of `groups` runs the "fileset" role; when it comes up it
// connects to `degree` random nodes of those groups (online ones first).
// `sets` sets of `files_per_set` random files are uploaded (the "put"
// command) at a random online node of `publishers`, one set every
// `set_interval` from `start`; the driver remembers each set's size and
// Merkle root like the client library does. A simulated client then fetches
// `client_fetches` random files (set published at least `settle` ago) with
// their proofs from random online nodes and verifies them against its own
// root, index and size.
//
// Checkers:
//   fileset_converged            every online node of the groups (up for `settle`) completed every
//                                set published `settle` before the end, with the publisher's root
//                                (optional "groups": [...] to restrict)
//   fileset_no_corrupt_accepted  the client never accepted a file that differs from the published
//                                one (optional "min_rejected", "min_verified": counts that must be
//                                reached)
//   fileset_propagation          every file reached every node online since before it was
//                                published (optional "max_p99": a duration bounding the p99 time)
// Figures (run summary, "fileset"): time until a file reached every node
// online since its publication (median, p99), per-node delay, client counts.
// Docs: docs/protocols/fileset.md "Simulation".
#include "sim/workload_driver.hpp"

namespace peerlab::sim::fileset_sim {

driver_kind fileset_driver_kind();

} // namespace peerlab::sim::fileset_sim
