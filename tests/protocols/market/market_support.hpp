#pragma once
// The market tests use the shared test kit (tests/kit/lockstep_network.hpp).
#include "tests/kit/lockstep_network.hpp"

namespace mkt {

using namespace peerlab;
using namespace peerlab::test_kit;

/// Rows of a table whose key starts with `prefix`.
inline std::size_t count_rows(const table_store& s, const table_schema& t, const key& prefix) {
  std::size_t n = 0;
  s.scan(t, prefix, [&](const peerlab::row&) { ++n; });
  return n;
}

} // namespace mkt
