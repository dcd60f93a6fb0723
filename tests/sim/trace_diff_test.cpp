#include "sim/trace_diff.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::sim;

namespace {

std::vector<trace_entry> chain_of(const std::vector<std::uint64_t>& payload_bytes) {
  fingerprint fp;
  fp.record_trace(true);
  time_us t = 0;
  for (auto b : payload_bytes) {
    bytes frame{ports::file_provider, static_cast<std::uint8_t>(b)};
    fp.extend(t += 1000, event_kind::deliver, 3, ports::file_provider, 9, frame);
  }
  return fp.trace();
}

} // namespace

TEST_CASE("identical traces have no divergence", "[sim][check]") {
  CHECK_FALSE(first_divergence(chain_of({1, 2, 3}), chain_of({1, 2, 3})).has_value());
}

TEST_CASE("the first differing event is located with its time, node and message", "[sim][check]") {
  auto d = first_divergence(chain_of({1, 2, 3, 4}), chain_of({1, 2, 7, 4}));
  REQUIRE(d);
  CHECK(d->index == 2);
  REQUIRE(d->first);
  REQUIRE(d->second);
  CHECK(d->first->time == 3000);
  CHECK(d->first->node == 3);
  CHECK(d->first->msg == 3);
  CHECK(d->second->msg == 7);
  CHECK(d->first->kind == event_kind::deliver);
}

TEST_CASE("a trace that stops early diverges where it ends", "[sim][check]") {
  auto d = first_divergence(chain_of({1, 2}), chain_of({1, 2, 3}));
  REQUIRE(d);
  CHECK(d->index == 2);
  CHECK_FALSE(d->first);
  REQUIRE(d->second);
  CHECK(d->second->msg == 3);
}

TEST_CASE("a change in one event changes every later chain value", "[sim][check]") {
  auto a = chain_of({1, 2, 3, 4, 5});
  auto b = chain_of({9, 2, 3, 4, 5});
  for (std::size_t i = 0; i < a.size(); ++i)
    CHECK(a[i].chain != b[i].chain);
}
