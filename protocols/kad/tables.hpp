#pragma once
// The Kademlia node's table (docs/tables.md).
#include "protocols/common/table.hpp"

namespace peerlab::kad {

/// DhtProvidedKeys(key BLOB[32]): keys this node provides; republished after
/// a restart. Bounded by limits::provided_keys_max.
const table_schema& provided_keys_table();

} // namespace peerlab::kad
