// peerlab testbed: a scenario run by live nodes (apps/peerlab/testbed/).
#include "apps/peerlab/commands.hpp"

#include "apps/peerlab/args.hpp"
#include "apps/peerlab/scenario_io.hpp"
#include "apps/peerlab/testbed/testbed.hpp"
#include "sim/checkers.hpp"
#include "sim/results.hpp"
#include "sim/summary.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>
#include <unistd.h>

namespace peerlab::app {

namespace {

const command_help testbed_help{
  "testbed",
  "SCENARIO [options]",
  "Runs SCENARIO as live peerlab node processes on loopback sockets and appends the run\n"
  "  (world \"live\") to a results file.",
  {{"seed", "N", "the run seed (default: the scenario's seed)"},
   {"out", "FILE", "results file to append to (default results.db)"},
   {"time-scale", "F", "wall seconds per scenario second (default 1)"},
   {"dir", "DIR", "work folder for configs, data and logs (default: a new temp folder)"},
   {"keep", "", "keep the work folder after the run"},
   {"network", "M", "auto (default), netns (each node in its own network namespace) or loopback"},
   {"quiet", "", "print only \"passed|FAILED live\""}},
  "Each node's roles, files, adversary and churn come from the scenario; the workload\n"
  "drivers issue the same role commands as in the simulator (docs/testbed.md).\n"
  "SIGINT/SIGTERM stop the run early; every node is stopped and the folder removed."};

// Blocks SIGINT/SIGTERM in every thread and hands them to `on` from one thread.
class interrupt_waiter {
public:
  template <class F>
  explicit interrupt_waiter(F on) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this, on] {
      int sig = 0;
      while (sigwait(&set_, &sig) == 0) {
        if (sig == SIGUSR1)
          return;
        on();
      }
    });
  }
  ~interrupt_waiter() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

private:
  sigset_t set_{}, old_{};
  std::thread thread_;
};

} // namespace

int testbed_command(int argc, char** argv) {
  return run_parsed(testbed_help, argc, argv, [&](const args& a) {
    if (a.positional().size() != 1)
      throw usage_error("testbed needs exactly one scenario file");
    auto& path = a.positional()[0];
    auto s = load_scenario_or_fail(path);
    testbed::options o;
    if (auto sd = seed_option(a))
      o.seed = *sd;
    if (auto ts = a.value("time-scale"))
      o.time_scale = parse_time_scale(*ts);
    o.work_dir = a.value_or("dir", "");
    o.keep = a.flag("keep");
    o.network = a.value_or("network", "auto");
    if (o.network != "auto" && o.network != "netns" && o.network != "loopback")
      throw usage_error("--network: expected auto, netns or loopback, got \"" + o.network + "\"");
    o.progress = !a.flag("quiet");
    o.exe = self_exe();
    std::string out = a.value_or("out", "results.db");
    std::unique_ptr<sim::results_db> db;
    try {
      db = std::make_unique<sim::results_db>(out);
    } catch (const std::runtime_error& e) {
      throw usage_error(e.what());
    }
    std::signal(SIGPIPE, SIG_IGN); // a node that died must not take the testbed with it
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<testbed::live_world> w;
    try {
      w = std::make_unique<testbed::live_world>(s, o);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "peerlab testbed: %s\n", e.what());
      return exit_code::runtime;
    }
    {
      interrupt_waiter stop([&w] { w->interrupt(); });
      if (!a.flag("quiet"))
        std::printf("peerlab testbed %s  seed %llu  %zu nodes  network %s%s  work folder %s\n",
                    path.c_str(), static_cast<unsigned long long>(w->seed()), w->node_count(),
                    w->network().c_str(),
                    w->network_note().empty() ? "" : (" (" + w->network_note() + ")").c_str(),
                    w->work_dir().c_str());
      std::fflush(stdout);
      try {
        w->run();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "\npeerlab testbed: %s\n", e.what());
        return exit_code::runtime;
      }
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto r = testbed::record_run(*w, wall, *db, git_commit());
    if (a.flag("quiet"))
      std::printf("%s live\n", r.passed ? "passed" : "FAILED");
    else {
      std::printf("%s", sim::render_summary(*w, r.summary, r.verdicts).c_str());
      std::printf("testbed: set up %.2f s, all %zu nodes up after %.2f s, stopped %.2f s; results "
                  "appended to %s\n",
                  w->setup_seconds(), w->node_count(), w->all_up_seconds(), w->teardown_seconds(),
                  out.c_str());
    }
    return r.passed ? exit_code::ok : exit_code::failed;
  });
}

} // namespace peerlab::app
