#pragma once
// Lines that peers can cause at will (a hello, a closed connection, a "peer"
// event) share a budget: at most `burst` per `window`; the rest are counted
// and reported in one line when the next window begins. A connection flood
// then costs the node's log a few lines per window, and still shows.
#include <chrono>
#include <cstdint>
#include <mutex>

namespace peerlab::net {

class log_budget {
public:
  using clock = std::chrono::steady_clock;
  explicit log_budget(std::uint64_t burst = 64, clock::duration window = std::chrono::seconds(10))
      : burst_(burst), window_(window), start_(clock::now()) {}

  struct verdict {
    bool allowed = false;
    std::uint64_t suppressed_before = 0; // lines held back in the window that just ended
  };

  verdict take() {
    std::lock_guard lock(mu_);
    verdict v;
    auto now = clock::now();
    if (now - start_ >= window_) {
      v.suppressed_before = suppressed_;
      suppressed_ = used_ = 0;
      start_ = now;
    }
    if (used_ < burst_) {
      ++used_;
      v.allowed = true;
    } else {
      ++suppressed_;
    }
    return v;
  }

private:
  std::mutex mu_;
  std::uint64_t burst_, used_ = 0, suppressed_ = 0;
  clock::duration window_;
  clock::time_point start_;
};

} // namespace peerlab::net
