#include "apps/peerlab/mirror_command.hpp"

#include "apps/peerlab/args.hpp"

#include "protocols/common/config_fields.hpp"
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

const app::command_help mirror_help{
  "mirror",
  "SRC DST [options]",
  "Copies every file that appears in folder SRC to folder DST, with faults (both are created\nif "
  "missing, so the mirror and the gateways start in any order).",
  {{"truncate", "P", "probability a copy is cut at a random byte (default 0)"},
   {"corrupt", "P", "probability per byte of one flipped bit (default 0)"},
   {"delay", "D", "each file is copied after a uniform delay in [0, D] (default 0)"},
   {"loss", "P", "probability a file is never copied (default 0)"},
   {"duplicate", "P", "probability a file is copied a second time (default 0)"},
   {"seed", "N", "seed of the fault generator (default 1)"},
   {"run-for", "D", "stop after D (default: until SIGINT/SIGTERM)"},
   {"poll", "D", "how often SRC is scanned (default 10ms)"}},
  "Prints one JSON line with the counts when it stops."};

int run_mirror(const mirror_options& o, time_us run_for, time_us poll) {
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
  nlohmann::json j = {
    {"event", "mirror_stopped"}, {"copied", s.copied},     {"truncated", s.truncated},
    {"corrupted", s.corrupted},  {"bytes_in", s.bytes_in}, {"bytes_out", s.bytes_out},
    {"vanished", s.vanished},    {"errors", s.errors},     {"lost", s.lost},
    {"duplicated", s.duplicated}};
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  return 0;
}

} // namespace

int mirror_command(int argc, char** argv) {
  return app::run_parsed(mirror_help, argc, argv, [](const app::args& a) {
    if (a.positional().size() != 2)
      throw app::usage_error("needs SRC and DST");
    mirror_options o;
    o.src = a.positional()[0];
    o.dst = a.positional()[1];
    o.truncate = a.probability("truncate").value_or(o.truncate);
    o.corrupt = a.probability("corrupt").value_or(o.corrupt);
    o.delay = a.duration("delay").value_or(o.delay);
    o.loss = a.probability("loss").value_or(o.loss);
    o.duplicate = a.probability("duplicate").value_or(o.duplicate);
    o.seed = a.count("seed").value_or(o.seed);
    const time_us run_for = a.duration("run-for").value_or(0);
    const time_us poll = a.duration("poll").value_or(10 * us_per_ms);
    if (auto e = validate(o); !e.empty())
      throw app::usage_error(e);
    if (poll <= 0)
      throw app::usage_error("--poll must be positive");
    return run_mirror(o, run_for, poll);
  });
}

} // namespace peerlab::net
