// The timeout backoff cap (config max_backoff): RFC 6298 doubling, but at
// most max_backoff times, since a truncated file is damage, not congestion.
#include "helpers.hpp"
#include "protocols/droplog/rtt.hpp"

#include <catch2/catch.hpp>

using namespace droplog_test;

TEST_CASE("timeout doubles per consecutive expiry up to max_backoff times", "[rtt]") {
  auto c = small_config(side_a, side_b);
  c.initial_rtt = 1 * us_per_s;
  c.max_ack_delay = 0;
  c.max_backoff = 2;
  rtt_estimator r(c);
  r.sample(1 * us_per_s, 0); // srtt 1 s, rttvar 0.5 s: base = 1 + 2 = 3 s
  const time_us base = r.timeout();
  CHECK(base == 3 * us_per_s);
  r.on_timeout();
  CHECK(r.timeout() == 2 * base);
  for (int i = 0; i < 10; ++i)
    r.on_timeout();
  CHECK(r.timeout() == 4 * base); // capped
  r.on_progress();
  CHECK(r.timeout() == base);
  c.max_backoff = 30;
  rtt_estimator unlimited(c);
  unlimited.sample(1 * us_per_s, 0);
  for (int i = 0; i < 10; ++i)
    unlimited.on_timeout();
  CHECK(unlimited.timeout() == std::min<time_us>(base << 10, c.max_rto));
}

TEST_CASE("max_backoff above 30 is refused", "[rtt]") {
  auto c = small_config(side_a, side_b);
  c.max_backoff = 31;
  CHECK(validate(c).find("max_backoff") != std::string::npos);
}
