#include "apps/peerlab/sweep_plan.hpp"

#include "apps/peerlab/sim_run.hpp"
#include "protocols/common/config_fields.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace peerlab::app {

sweep_plan sweep_plan::from_args(const args& a) {
  if (a.positional().size() != 1)
    throw usage_error("sweep needs exactly one scenario file");
  sweep_plan p;
  p.path = a.positional()[0];
  auto seeds = a.value("seeds");
  if (!seeds)
    throw usage_error("sweep needs --seeds A..B");
  auto dots = seeds->find("..");
  if (dots == std::string::npos)
    throw usage_error("--seeds: expected A..B, got \"" + *seeds + "\"");
  p.lo = parse_seed(seeds->substr(0, dots), "--seeds");
  p.hi = parse_seed(seeds->substr(dots + 2), "--seeds");
  if (p.hi < p.lo || p.hi - p.lo > 100000)
    throw usage_error("--seeds: expected A..B with A <= B and at most 100000 seeds");
  p.eng = parse_engine(a);
  p.bound = watchdog_bound(a);
  p.param_specs = a.values("param");
  std::vector<sim::param_axis> axes;
  for (auto& s : p.param_specs)
    axes.push_back(sim::parse_param(s));
  std::ifstream in(p.path, std::ios::binary);
  if (!in)
    throw config_error(p.path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (64u << 20))
    throw config_error(p.path + ": larger than 64 MiB");
  p.grid = sim::sweep_grid(text.str(), p.path, axes);
  if (p.runs() > 1000000)
    throw usage_error("sweep: " + std::to_string(p.runs()) + " runs; at most 1000000");
  return p;
}

nlohmann::json sweep_plan::parameters(std::size_t run) const {
  auto j = grid[config_of(run)].spec.resolved();
  j["seed"] = seed_of(run);
  return j;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

namespace {

// The options every process of the sweep must agree on.
std::vector<std::string> common_args(const sweep_plan& p, std::uint64_t lo, std::uint64_t hi) {
  std::vector<std::string> v{"sweep", p.path, "--seeds",
                             std::to_string(lo) + ".." + std::to_string(hi)};
  for (auto& s : p.param_specs) {
    v.push_back("--param");
    v.push_back(s);
  }
  if (p.eng == sim::engine::direct) {
    v.push_back("--engine");
    v.push_back("direct");
  }
  if (p.bound) {
    v.push_back("--max-events-per-instant");
    v.push_back(std::to_string(p.bound));
  }
  return v;
}

} // namespace

std::string sweep_plan::repro(std::size_t run, const std::string& out) const {
  std::string s = "peerlab";
  auto seed = seed_of(run);
  auto& c = grid[config_of(run)];
  auto args = common_args(*this, seed, seed);
  // Only this run's configuration: one value per axis.
  for (std::size_t i = 0, k = 0; i < args.size(); ++i) {
    if (args[i] == "--param" && i + 1 < args.size() && k < c.settings.size()) {
      auto& [ptr, v] = c.settings[k++];
      args[i + 1] = ptr + "=" + v.dump();
    }
  }
  for (auto& a : args)
    s += " " + (a.find_first_of(" '\"$\\*?[]{}();&|<>") == std::string::npos ? a : shell_quote(a));
  return s + " --out " + out;
}

std::vector<std::string> sweep_plan::task_argv(const std::string& self, std::size_t task,
                                               const std::string& shard_dir) const {
  auto v = common_args(*this, lo, hi);
  v.insert(v.begin(), self);
  v.insert(v.end(), {"--task", std::to_string(task), "--shard-dir", shard_dir});
  return v;
}

std::string sweep_plan::slurm_wrap(const std::string& self, const std::string& shard_dir) const {
  std::string s = "exec " + shell_quote(self);
  for (auto& a : common_args(*this, lo, hi))
    s += " " + shell_quote(a);
  return s + " --task \"$SLURM_ARRAY_TASK_ID\" --shard-dir " + shell_quote(shard_dir);
}

std::vector<std::optional<sim::stored_run>> stored_matches(const sweep_plan& p,
                                                           const std::string& out) {
  std::set<std::string> names;
  for (auto& c : p.grid)
    names.insert(c.spec.name);
  // Newest simulated, non-runtime_error run per (scenario name, parameters); the seed is in
  // the parameters. Live runs (peerlab testbed) of the same scenario are not sweep runs.
  std::map<std::pair<std::string, std::string>, sim::stored_run> have;
  for (auto& n : names)
    for (auto& r : sim::read_runs(out, n))
      if (r.status != "runtime_error" && r.world == "sim" && r.parameters.is_object())
        have[{n, r.parameters.dump()}] = std::move(r);
  std::vector<std::optional<sim::stored_run>> m(p.runs());
  for (std::size_t i = 0; i < p.runs(); ++i) {
    auto it = have.find({p.grid[p.config_of(i)].spec.name, p.parameters(i).dump()});
    if (it != have.end() && it->second.seed == p.seed_of(i))
      m[i] = it->second;
  }
  return m;
}

} // namespace peerlab::app
