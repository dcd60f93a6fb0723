// peerlab fuzz: swarm testing. Draws runs of a scenario with random seeds and
// faults (sim/fuzz.hpp), checks the scenario's invariants, and shrinks every
// failing run to a smaller scenario file that still fails.
//
// Each run executes in a child process, so a crash or a hang of the simulator
// is reported as a failure of that run instead of ending the campaign.
#include "apps/peerlab/args.hpp"
#include "apps/peerlab/commands.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/checkers.hpp"
#include "sim/fuzz.hpp"
#include "sim/simulator.hpp"

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace peerlab::app {

namespace {

using nlohmann::json;

const command_help fuzz_help{
  "fuzz",
  "SCENARIO --runs N [options]",
  "Swarm testing: runs SCENARIO with drawn seeds and faults, checks its invariants, and "
  "shrinks every failing run to a smaller scenario file that still fails.",
  {{"runs", "N", "runs to draw (1..1000000)"},
   {"seed", "S", "the fuzz seed (default 1); run I is a function of (SCENARIO, S, I)"},
   {"run", "I", "only run I of the campaign (to reproduce it; instead of --runs)"},
   {"out", "DIR", "where failing runs are written as scenario files (default fuzz-out)"},
   {"engine", "E", "actors (default) or direct"},
   {"shrink-runs", "N", "simulations spent shrinking each failure (default 60, 0 = none)"},
   {"timeout", "SEC", "wall-clock limit of one simulation in seconds (default 600)"}},
  "Each run draws a seed, fault rates (loss, duplication, reordering, truncation, corruption),\n"
  "partitions, churn and adversaries from the scenario's \"fuzz\" section (docs/scenarios.md)\n"
  "or defaults. Only invariant checkers decide (fuzz.invariants, docs/fuzz.md); exceptions,\n"
  "crashes and runs over the timeout fail too. Exit 1 means some run failed."};

struct fuzz_args {
  std::string scenario;
  std::uint64_t runs = 0, seed = 1, shrink_runs = 60, timeout = 600;
  std::optional<std::uint64_t> only;
  std::string out = "fuzz-out";
  sim::engine eng = sim::engine::actors;
};

std::uint64_t bounded(const args& a, const char* name, std::uint64_t fallback, std::uint64_t lo,
                      std::uint64_t hi) {
  auto v = a.count(name);
  if (!v)
    return fallback;
  if (*v < lo || *v > hi)
    throw usage_error(std::string("--") + name + ": expected an integer from " +
                      std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
                      std::to_string(*v));
  return *v;
}

fuzz_args parse(const args& a) {
  fuzz_args f;
  if (a.positional().size() != 1)
    throw usage_error("fuzz needs exactly one scenario file");
  f.scenario = a.positional()[0];
  f.only = a.count("run");
  if (!f.only && !a.value("runs"))
    throw usage_error("fuzz needs --runs N (or --run I)");
  if (f.only && a.value("runs"))
    throw usage_error("--run I reproduces one run; do not combine it with --runs");
  f.runs = bounded(a, "runs", 0, 1, 1'000'000);
  f.seed = a.count("seed").value_or(1);
  f.out = a.value_or("out", f.out);
  f.shrink_runs = bounded(a, "shrink-runs", f.shrink_runs, 0, 100'000);
  f.timeout = bounded(a, "timeout", f.timeout, 1, 86'400);
  auto eng = a.value_or("engine", "actors");
  if (eng != "actors" && eng != "direct")
    throw usage_error("--engine: expected actors or direct, got \"" + eng + "\"");
  f.eng = eng == "direct" ? sim::engine::direct : sim::engine::actors;
  return f;
}

/// What one simulation of a drawn scenario did to the invariants.
struct outcome {
  std::vector<std::string> failed; // invariant names, "error" or "crash"
  std::vector<std::string> shapes; // per failure: its detail with numbers replaced by '#'
  std::string detail;              // first failure, human readable
  double seconds = 0;
  bool passed() const { return failed.empty(); }
  /// Whether this run fails the way `signature` (from shape_of) describes.
  bool has(const std::string& signature) const {
    for (auto& s : shapes)
      if (s == signature)
        return true;
    return false;
  }
};

// A failure's shape: its text with every word that holds a digit replaced by
// '#'. Shrinking keeps a variant only if it fails with the same shape, so it
// does not drift to another failure, such as a checker that fails because a
// shortened run did nothing at all ("0 of 0 payments recognised").
std::string shape_of(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (!std::isalnum(static_cast<unsigned char>(text[i]))) {
      out += text[i++];
      continue;
    }
    auto j = i;
    bool digit = false;
    for (; j < text.size() && std::isalnum(static_cast<unsigned char>(text[j])); ++j)
      if (std::isdigit(static_cast<unsigned char>(text[j])))
        digit = true;
    out += digit ? std::string("#") : text.substr(i, j - i);
    i = j;
  }
  return out;
}

// Runs in the child: simulate, evaluate, report as one JSON document.
json simulate(const sim::scenario& s, const std::vector<std::string>& invariants, sim::engine eng) {
  json r = {{"failed", json::array()}, {"details", json::array()}, {"detail", ""}};
  try {
    sim::sim_options o;
    o.eng = eng;
    sim::simulator sim(s, o);
    sim.run();
    for (auto& v : sim::evaluate_checkers(sim)) {
      bool invariant = false;
      for (auto& name : invariants) // "metric" names every "metric NAME (group)" verdict
        invariant = invariant || v.check == name || v.check.rfind(name + " ", 0) == 0;
      if (v.passed || !invariant)
        continue;
      r["failed"].push_back(v.check);
      r["details"].push_back(v.check + ": " + v.detail);
      if (r["detail"].get<std::string>().empty())
        r["detail"] = v.check + ": " + v.detail;
    }
  } catch (const std::exception& e) {
    r["failed"] = {"error"};
    r["detail"] = std::string("runtime error: ") + e.what();
    r["details"] = {r["detail"]};
  }
  return r;
}

outcome run_isolated(const sim::scenario& s, const std::vector<std::string>& invariants,
                     const fuzz_args& a) {
  auto t0 = std::chrono::steady_clock::now();
  outcome out;
  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    alarm(static_cast<unsigned>(a.timeout)); // SIGALRM ends a hung run
    auto text = simulate(s, invariants, a.eng).dump();
    std::size_t done = 0;
    while (done < text.size()) {
      auto n = write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0)
        break;
      done += static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    auto n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    out.failed = {"crash"};
    out.detail = sig == SIGALRM ? "the run exceeded --timeout " + std::to_string(a.timeout) + " s"
                                : std::string("the simulator died of signal ") +
                                    std::to_string(sig) + " (" + strsignal(sig) + ")";
    out.shapes = {shape_of(out.detail)};
    return out;
  }
  auto r = json::parse(text, nullptr, false);
  if (r.is_discarded() || !r.contains("failed")) {
    out.failed = {"crash"};
    out.detail = "the simulator exited without a verdict (status " + std::to_string(status) + ")";
    out.shapes = {shape_of(out.detail)};
    return out;
  }
  for (auto& f : r["failed"])
    out.failed.push_back(f.get<std::string>());
  for (auto& d : r["details"])
    out.shapes.push_back(shape_of(d.get<std::string>()));
  out.detail = r["detail"].get<std::string>();
  return out;
}

void write_file(const std::string& path, const json& doc) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << doc.dump(2) << "\n";
  if (!f)
    throw std::runtime_error("cannot write " + path);
}

std::optional<sim::scenario> parse_doc(const json& doc, const std::string& origin) {
  try {
    return sim::parse_scenario(doc.dump(), origin);
  } catch (const config_error&) {
    return std::nullopt;
  }
}

struct shrink_result {
  json doc;
  std::vector<std::string> steps;
  std::uint64_t simulations = 0;
};

// Greedy delta debugging: take any one-step-smaller variant that still fails
// the same way, until no variant does or the budget is spent.
shrink_result shrink(const json& failing, const std::string& signature,
                     const std::vector<std::string>& invariants, const fuzz_args& a) {
  shrink_result r{failing, {}, 0};
  bool progress = true;
  while (progress && r.simulations < a.shrink_runs) {
    progress = false;
    for (std::size_t k = 0; r.simulations < a.shrink_runs;) {
      auto candidates = sim::shrink_candidates(r.doc);
      if (k >= candidates.size())
        break;
      auto& cand = candidates[k];
      auto s = parse_doc(cand.doc, "candidate");
      if (!s) {
        ++k;
        continue;
      }
      ++r.simulations;
      auto o = run_isolated(*s, invariants, a);
      if (o.has(signature)) {
        r.doc = cand.doc; // the same index now names the next item
        r.steps.push_back(cand.what);
        progress = true;
      } else {
        ++k;
      }
    }
  }
  return r;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (auto& x : v)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

int fuzz_main(const fuzz_args& a) {
  sim::scenario s;
  try {
    s = sim::load_scenario(a.scenario);
  } catch (const config_error& e) {
    std::string msg = e.what();
    throw config_error(msg.rfind(a.scenario, 0) == 0 ? msg : a.scenario + ": " + msg);
  }
  auto doc = json::parse(s.source_text);
  auto spec = sim::fuzz_spec_of(s);
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec)
    throw usage_error("--out " + a.out + ": " + ec.message());
  auto base = std::filesystem::path(a.scenario).stem().string();
  std::uint64_t first = a.only ? *a.only : 0, last = a.only ? *a.only + 1 : a.runs;
  std::printf("fuzz %s: %llu run(s) from fuzz seed %llu; invariants: %s\n", a.scenario.c_str(),
              static_cast<unsigned long long>(last - first),
              static_cast<unsigned long long>(a.seed),
              spec.invariants.empty() ? "(none: only runtime failures count)"
                                      : join(spec.invariants, ", ").c_str());
  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t failures = 0;
  double run_seconds = 0; // drawn runs only, without shrinking
  for (auto i = first; i < last; ++i) {
    auto drawn = sim::draw_scenario(doc, s, spec, a.seed, i);
    sim::scenario ds;
    try {
      ds = sim::parse_scenario(drawn.dump(), a.scenario + " run " + std::to_string(i));
    } catch (const config_error& e) {
      throw config_error(a.scenario + ": run " + std::to_string(i) +
                         " drew an invalid scenario (check the fuzz section): " + e.what());
    }
    auto o = run_isolated(ds, spec.invariants, a);
    run_seconds += o.seconds;
    std::printf("run %-6llu seed %-16llu %-4s %7.2f s%s%s\n", static_cast<unsigned long long>(i),
                static_cast<unsigned long long>(ds.seed), o.passed() ? "ok" : "FAIL", o.seconds,
                o.passed() ? "" : "  ", o.detail.c_str());
    std::fflush(stdout);
    if (o.passed())
      continue;
    ++failures;
    auto stem = (std::filesystem::path(a.out) /
                 (base + "-seed" + std::to_string(a.seed) + "-run" + std::to_string(i)))
                  .string();
    write_file(stem + ".json", drawn);
    std::printf("  reproduce: peerlab run %s.json\n", stem.c_str());
    std::printf("         or: peerlab fuzz %s --seed %llu --run %llu\n", a.scenario.c_str(),
                static_cast<unsigned long long>(a.seed), static_cast<unsigned long long>(i));
    if (a.shrink_runs == 0)
      continue;
    auto sr = shrink(drawn, o.shapes.front(), spec.invariants, a);
    write_file(stem + "-shrunk.json", sr.doc);
    std::printf("  shrunk in %llu simulation(s), %zu step(s)%s%s\n  shrunk: peerlab run %s\n",
                static_cast<unsigned long long>(sr.simulations), sr.steps.size(),
                sr.steps.empty() ? "" : ": ", join(sr.steps, "; ").c_str(),
                (stem + "-shrunk.json").c_str());
    std::fflush(stdout);
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto n = static_cast<double>(last - first);
  std::printf("fuzz %s: %llu run(s), %llu failed; %.2f runs/s (%.1f s in drawn runs, %.1f s "
              "wall with shrinking)\n",
              a.scenario.c_str(), static_cast<unsigned long long>(last - first),
              static_cast<unsigned long long>(failures), run_seconds > 0 ? n / run_seconds : 0.0,
              run_seconds, wall);
  return failures ? exit_code::failed : exit_code::ok;
}

} // namespace

int fuzz_command(int argc, char** argv) {
  return run_parsed(fuzz_help, argc, argv, [](const args& a) { return fuzz_main(parse(a)); });
}

} // namespace peerlab::app
