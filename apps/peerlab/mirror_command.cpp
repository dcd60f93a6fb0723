#include "apps/peerlab/mirror_command.hpp"

#include "actors/config/json_fields.hpp"
#include "net/mirror.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

namespace peerlab::net {

namespace {

volatile std::sig_atomic_t mirror_stop = 0;
extern "C" void on_mirror_signal(int) { mirror_stop = 1; }

int usage(const std::string& why) {
  std::fprintf(stderr,
               "peerlab mirror: %s\n"
               "usage: peerlab mirror SRC DST [--truncate P] [--corrupt P] [--delay D] [--seed N]\n"
               "                      [--run-for D] [--poll D]\n"
               "  --truncate P  probability a copy is cut at a random byte (default 0)\n"
               "  --corrupt P   probability per byte of one flipped bit (default 0)\n"
               "  --delay D     each file is copied after a uniform delay in [0, D] (default 0)\n"
               "  --poll D      how often SRC is scanned (default 10ms)\n",
               why.c_str());
  return 2;
}

bool number(const char* s, double& out) {
  char* end = nullptr;
  out = std::strtod(s, &end);
  return end && *end == 0 && end != s;
}

} // namespace

int mirror_command(int argc, char** argv) {
  mirror_options o;
  time_us run_for = 0, poll = 10 * us_per_ms;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--truncate" || a == "--corrupt") {
      auto* v = value();
      double p = 0;
      if (!v || !number(v, p))
        return usage(a + " needs a probability");
      (a == "--truncate" ? o.truncate : o.corrupt) = p;
    } else if (a == "--delay" || a == "--run-for" || a == "--poll") {
      auto* v = value();
      auto d = v ? cfg::parse_duration(v) : std::nullopt;
      if (!d)
        return usage(a + " needs a duration such as 500ms or 2s");
      (a == "--delay" ? o.delay : a == "--run-for" ? run_for : poll) = *d;
    } else if (a == "--seed") {
      auto* v = value();
      double s = 0;
      if (!v || !number(v, s) || s < 0)
        return usage("--seed needs a non-negative integer");
      o.seed = static_cast<std::uint64_t>(s);
    } else if (!a.empty() && a[0] == '-') {
      return usage("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2)
    return usage("needs SRC and DST");
  o.src = positional[0];
  o.dst = positional[1];
  if (auto e = validate(o); !e.empty())
    return usage(e);
  if (poll <= 0)
    return usage("--poll must be positive");
  mirror m(o);
  mirror_stop = 0;
  std::signal(SIGINT, on_mirror_signal);
  std::signal(SIGTERM, on_mirror_signal);
  auto t0 = std::chrono::steady_clock::now();
  auto now = [&] {
    return static_cast<time_us>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
        .count());
  };
  while (!mirror_stop && (run_for == 0 || now() < run_for)) {
    m.step(now());
    std::this_thread::sleep_for(std::chrono::microseconds(poll));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  auto& s = m.stats();
  nlohmann::json j = {{"event", "mirror_stopped"}, {"copied", s.copied},
                      {"truncated", s.truncated},  {"corrupted", s.corrupted},
                      {"bytes_in", s.bytes_in},    {"bytes_out", s.bytes_out},
                      {"vanished", s.vanished},    {"errors", s.errors}};
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  return 0;
}

} // namespace peerlab::net
