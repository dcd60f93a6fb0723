#pragma once
// CPU used by this process while a benchmark runs, in two load-independent
// figures: CPU seconds of all threads (on 2 idle cores the wall rate cannot
// beat 2 / cpu_s_per_GiB), and of the busiest thread (with a core for each
// thread the rate cannot beat 1 / busiest_thread_s_per_GiB). Per-thread times
// come from /proc/self/task/*/stat, in clock ticks (10 ms).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace peerlab::bench {

/// CPU seconds used by the whole process (all threads).
inline double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

/// CPU seconds per thread of this process.
inline std::map<int, double> thread_cpu_seconds() {
  std::map<int, double> out;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(t.path() / "stat");
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')'); // the name may contain spaces
    if (close == std::string::npos)
      continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) { // fields 14 and 15: utime, stime
      if (i == 14)
        utime = std::stoull(field);
      if (i == 15)
        stime = std::stoull(field);
    }
    out[std::stoi(t.path().filename().string())] = static_cast<double>(utime + stime) / tick;
  }
  return out;
}

/// Adds up the CPU of the stretches between start() and stop().
class cpu_meter {
public:
  void start() {
    cpu0_ = process_cpu_seconds();
    threads0_ = thread_cpu_seconds();
  }
  void stop() {
    cpu_ += process_cpu_seconds() - cpu0_;
    for (auto& [tid, sec] : thread_cpu_seconds())
      per_thread_[tid] += sec - (threads0_.count(tid) ? threads0_[tid] : 0.0);
  }
  double cpu_seconds() const { return cpu_; }
  double busiest_thread_seconds() const {
    double most = 0;
    for (auto& [_, sec] : per_thread_)
      most = std::max(most, sec);
    return most;
  }

private:
  double cpu0_ = 0, cpu_ = 0;
  std::map<int, double> threads0_, per_thread_;
};

} // namespace peerlab::bench
