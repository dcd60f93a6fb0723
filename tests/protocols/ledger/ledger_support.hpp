#pragma once
// Test doubles for the ledger tests: an in-memory kv_store and an empty content store.
#include "tests/kit/no_content.hpp"
#include "protocols/common/memory_store.hpp"
#include "protocols/common/role.hpp"

#include <map>
#include <string>

namespace ledgertest {

using namespace peerlab;

using memory_kv = peerlab::memory_store;

using no_content = peerlab::test_kit::no_content;

} // namespace ledgertest
