// The budget of log lines that peers can cause: a burst per window, the rest
// counted and reported once the next window begins.
#include "net/log_budget.hpp"

#include <catch2/catch.hpp>

#include <thread>

using peerlab::net::log_budget;

TEST_CASE("log budget: a burst per window, the rest counted and reported in the next window",
          "[net][log]") {
  log_budget budget(3, std::chrono::milliseconds(200));
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    auto v = budget.take();
    allowed += v.allowed ? 1 : 0;
    CHECK(v.suppressed_before == 0);
  }
  CHECK(allowed == 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  auto next = budget.take();
  CHECK(next.allowed);
  CHECK(next.suppressed_before == 7);
  CHECK(budget.take().suppressed_before == 0); // reported once
}
