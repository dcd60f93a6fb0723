#pragma once
// Shared pieces of the droplog tests: an in-memory kv_store, small test
// configurations, and deterministic message contents.
#include "protocols/common/memory_store.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/common/store.hpp"
#include "protocols/droplog/session.hpp"
#include "protocols/droplog/testing/channel_harness.hpp"

#include <map>
#include <string>

namespace droplog_test {

using namespace peerlab;
using namespace peerlab::droplog;

using memory_kv = peerlab::memory_store;

inline constexpr peer_id side_a = 0x0a0a;
inline constexpr peer_id side_b = 0x0b0b;
inline const std::string test_key = peerlab::droplog::testing::harness_key;

// Small sizes and deterministic bodies: shared with the channel harness.
using peerlab::droplog::testing::message_body;
using peerlab::droplog::testing::small_config;

inline byte_view view(const bytes& b) { return {b.data(), b.size()}; }

/// Pointers to `ms`, as encode_packet and block_encoder::open take them.
inline std::vector<const message_frame*> ptrs(const std::vector<message_frame>& ms) {
  std::vector<const message_frame*> out;
  for (auto& m : ms)
    out.push_back(&m);
  return out;
}

} // namespace droplog_test
