// The invariant macro is an always-on check: it must throw in Release builds
// too. NDEBUG is forced here so this file compiles as a Release build would,
// whatever the build type of the tree.
#ifndef NDEBUG
#define NDEBUG
#endif
#include "protocols/common/invariant.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

int checked_half(int x) {
  PEERLAB_INVARIANT(x % 2 == 0, "x is even, got " + std::to_string(x));
  return x / 2;
}

} // namespace

TEST_CASE("PEERLAB_INVARIANT throws with file, line, what and condition", "[common][invariant]") {
  CHECK(checked_half(8) == 4);
  try {
    checked_half(7);
    FAIL("no exception");
  } catch (const peerlab::invariant_violation& e) {
    std::string msg = e.what();
    CHECK(msg.find("invariant violated at ") == 0);
    CHECK(msg.find("invariant_test.cpp:") != std::string::npos);
    CHECK(msg.find("x is even, got 7") != std::string::npos);
    CHECK(msg.find("(x % 2 == 0)") != std::string::npos);
  }
}

TEST_CASE("PEERLAB_INVARIANT evaluates its message only on failure", "[common][invariant]") {
  int built = 0;
  auto what = [&] {
    ++built;
    return std::string("never");
  };
  for (int i = 0; i < 3; ++i)
    PEERLAB_INVARIANT(i < 3, what());
  CHECK(built == 0);
  CHECK_THROWS_AS([&] { PEERLAB_INVARIANT(built < 0, what()); }(), peerlab::invariant_violation);
  CHECK(built == 1);
}

TEST_CASE("an invariant violation is a logic error, not a runtime error", "[common][invariant]") {
  // Callers tell a broken program (exit 3 with a reproduce line) from bad input.
  try {
    PEERLAB_INVARIANT(1 + 1 == 3, "arithmetic");
  } catch (const std::runtime_error&) {
    FAIL("caught as runtime_error");
  } catch (const std::logic_error& e) {
    CHECK(std::string(e.what()).find("arithmetic") != std::string::npos);
  }
}
