// The file-transfer workload driver: download ticks per node, and the
// download outcomes its checkers and the summary read.
#include "sim/drivers/filexfer_driver.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/limits.hpp"
#include "sim/checkers.hpp"
#include "sim/sim_time.hpp"
#include "sim/simulator.hpp"
#include "sim/drivers/filexfer_report.hpp"
#include "sim/seed_streams.hpp"
#include "sim/synthetic_content.hpp"

namespace peerlab::sim::filexfer_sim {

namespace {

namespace c = peerlab::cfg;
using nlohmann::json;

constexpr std::size_t max_records = 1'000'000;

download_spec parse_spec(const json& w, const std::string& p, const scenario& s) {
  c::only_keys(w, p, {"kind", "group", "files", "interval", "start", "stop", "max_per_node"});
  download_spec d;
  const auto& g = c::required(w, p, "group");
  d.group = c::get_string(g, c::child(p, "group"));
  if (!s.find_group(d.group))
    c::fail(c::child(p, "group"), "the name of a group", g);
  const auto& f = c::required(w, p, "files", "the name of a files entry");
  d.files = c::get_string(f, c::child(p, "files"));
  bool known = false;
  for (auto& fs : s.file_sets)
    known = known || fs.name == d.files;
  if (!known)
    c::fail(c::child(p, "files"), "the name of an earlier files entry", f);
  d.interval.a = 60.0 * us_per_s;
  if (auto* iv = c::member(w, "interval"))
    d.interval = parse_duration_dist(*iv, c::child(p, "interval"));
  if (auto* st = c::member(w, "start"))
    d.start = c::get_duration(*st, c::child(p, "start"));
  d.stop = s.duration;
  if (auto* sp = c::member(w, "stop"))
    d.stop = c::get_duration(*sp, c::child(p, "stop"));
  if (d.stop < d.start)
    c::fail_msg(c::child(p, "stop"), "must not be before \"start\"");
  if (auto* m = c::member(w, "max_per_node"))
    d.max_per_node = c::get_positive(*m, c::child(p, "max_per_node"));
  return d;
}

class driver final : public workload_driver {
public:
  explicit driver(const scenario& s) {
    for (auto& item : s.driver_items)
      if (item.kind == "downloads")
        specs_.push_back(parse_spec(item.item, "workload", s));
  }

  const download_outcomes& outcomes() const { return out_; }

  void start(sim_api& api) override {
    reservoir_ = stream_rng(api.run_seed(), seed_stream::samples);
    issued_.resize(specs_.size());
    for (std::uint32_t di = 0; di < specs_.size(); ++di) {
      auto& d = specs_[di];
      auto [first, last] = api.group_nodes(d.group);
      first_.push_back(first);
      issued_[di].assign(last - first, 0);
      for (auto n = first; n < last; ++n) {
        time_us t = later(d.start, delay_us(d.interval.sample(api.workload_rng())));
        if (t <= d.stop)
          api.schedule(t, n, di);
      }
    }
  }

  void tick(sim_api& api, std::uint32_t node, std::uint64_t di) override {
    auto& d = specs_[di];
    auto& issued = issued_[di][node - first_[di]];
    if (api.online(node) && issue(api, node, d))
      ++issued;
    time_us next = later(api.now(), delay_us(d.interval.sample(api.workload_rng())));
    if (issued < d.max_per_node && next <= d.stop)
      api.schedule(next, node, di);
  }

  void on_event(sim_api& api, std::uint32_t node, const event& e) override;
  void on_node_down(sim_api&, std::uint32_t node, bool) override {
    for (auto it = out_.open.lower_bound({node, std::string()});
         it != out_.open.end() && it->first.first == node;) {
      out_.interrupted += it->second.size();
      it = out_.open.erase(it);
    }
  }
  void on_commit(sim_api&, std::uint32_t node, const digest& h, bool intact) override {
    if (!intact)
      ++out_.corrupt_accepted;
    else
      ++out_.verified_commits[{node, to_hex(h)}];
  }

  bool evaluate(const sim_api& api, const checker_spec& c, verdict& v) const override {
    return filexfer_sim::evaluate(out_, api.end_time(), c, v);
  }
  void summarize(const sim_api&, json& j) const override { j["downloads"] = summary(out_); }
  std::vector<std::pair<std::string, double>> totals(const sim_api&) const override {
    return {{"downloads_completed", static_cast<double>(out_.completed)},
            {"downloads_failed", static_cast<double>(out_.failed)},
            {"corrupt_detected", static_cast<double>(out_.corrupt_detected)}};
  }

private:
  // Asks `node`'s downloader for a file of the set that it neither holds nor
  // is downloading, from the file's holders; false if there is none.
  bool issue(sim_api& api, std::uint32_t node, const download_spec& d) {
    auto& cat = api.catalog();
    std::vector<std::uint32_t> candidates;
    for (std::uint32_t f = 0; f < cat.size(); ++f)
      if (api.spec().file_sets[cat.at(f).set].name == d.files && !api.holds(node, f) &&
          !out_.open.count({node, to_hex(cat.at(f).hash)}))
        candidates.push_back(f);
    if (candidates.empty())
      return false;
    auto& rng = api.workload_rng();
    auto& file = cat.at(candidates[rng.below(candidates.size())]);
    std::vector<std::uint32_t> providers;
    for (auto h : file.holders)
      if (h != node)
        providers.push_back(h);
    for (std::size_t k = providers.size(); k > 1; --k) // shuffle: spread the load
      std::swap(providers[k - 1], providers[rng.below(k)]);
    if (providers.size() > limits::providers_per_download_max)
      providers.resize(limits::providers_per_download_max);
    std::vector<std::string> args{to_hex(file.hash)};
    for (auto p : providers)
      args.push_back(api.peer_arg(p));
    api.issue_command(node, "downloader", "download", std::move(args));
    return true;
  }

  std::vector<download_spec> specs_;
  std::vector<std::uint32_t> first_;               // first node of each spec's group
  std::vector<std::vector<std::uint32_t>> issued_; // [spec][node - first]
  download_outcomes out_;
  rng reservoir_;
};

void driver::on_event(sim_api& api, std::uint32_t node, const event& e) {
  auto& d = out_;
  const std::string* hash = e.field("hash");
  auto key = std::make_pair(node, hash ? *hash : std::string());
  auto close_one = [&] {
    auto it = d.open.find(key);
    if (it != d.open.end() && !it->second.empty()) {
      it->second.erase(it->second.begin());
      if (it->second.empty())
        d.open.erase(it);
    }
  };
  if (e.kind == "download_started") {
    ++d.started;
    d.open[key].push_back(api.now());
  } else if (e.kind == "download_resumed") {
    ++d.resumed; // counted as interrupted when its node went down; open again
    d.open[key].push_back(api.now());
  } else if (e.kind == "download_done") {
    ++d.completed;
    d.bytes += static_cast<std::uint64_t>(e.value("bytes"));
    d.duration_us.add(e.value("duration_us"), reservoir_);
    if (d.records.size() < max_records)
      d.records.push_back(
        {api.now(), node, true, e.value("duration_us"), e.value("bytes"), e.value("attempts"), {}});
    auto vc = d.verified_commits.find(key);
    if (vc == d.verified_commits.end() || vc->second == 0)
      ++d.done_without_commit;
    else
      --vc->second;
    close_one();
  } else if (e.kind == "download_failed") {
    ++d.failed;
    const std::string* reason = e.field("reason");
    std::string why = reason ? *reason : "unknown";
    // Peers choose the text: the map is bounded, further reasons count as "other".
    if (d.failure_reasons.size() < limits::failure_reasons_max || d.failure_reasons.count(why))
      ++d.failure_reasons[why];
    else
      ++d.failure_reasons["other"];
    if (d.records.size() < max_records)
      d.records.push_back(
        {api.now(), node, false, e.value("duration_us"), 0, e.value("attempts"), why});
    close_one();
  } else if (e.kind == "corrupt_detected") {
    ++d.corrupt_detected;
  }
}

} // namespace

driver_kind filexfer_driver_kind() {
  driver_kind k;
  k.validate = [](const json& item, const std::string& path, const scenario& s) {
    parse_spec(item, path, s);
  };
  k.make_once = [](const scenario& s) -> std::unique_ptr<workload_driver> {
    return std::make_unique<driver>(s);
  };
  k.checkers = checker_names();
  k.parse_checker = [](checker_spec& cs, const std::string& path, const scenario&) {
    parse_checker(cs, path);
  };
  return k;
}

const download_outcomes& outcomes_of(const run_view& sim) {
  for (std::size_t i = 0; i < sim.driver_count(); ++i)
    if (auto* d = dynamic_cast<const driver*>(&sim.driver(i)))
      return d->outcomes();
  static const download_outcomes none;
  return none;
}

} // namespace peerlab::sim::filexfer_sim
