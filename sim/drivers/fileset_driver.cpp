#include "sim/drivers/fileset_driver.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/fileset/fileset.hpp"
#include "protocols/merkle/merkle.hpp"
#include "sim/checkers.hpp"
#include "sim/sim_time.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace peerlab::sim::fileset_sim {

namespace {

using nlohmann::json;

struct params {
  std::vector<std::string> groups;
  std::string publishers;
  std::uint64_t degree = 8;
  std::uint64_t sets = 4;
  std::uint64_t files_per_set = 8;
  std::uint64_t file_size = 1024;
  std::uint64_t large_size = 256u << 10;
  double large_share = 0;
  time_us start = 10 * us_per_s;
  time_us set_interval = 5 * us_per_s;
  time_us file_interval = 0;
  time_us settle = 15 * us_per_s;
  std::uint64_t client_fetches = 0;
  time_us client_start = 20 * us_per_s;
  time_us client_interval = 100 * us_per_ms;
};

constexpr std::uint64_t max_total_files = 100'000;
constexpr std::uint64_t max_degree = 256;

params parse(const json& item, const std::string& path, const scenario& s) {
  cfg::only_keys(item, path,
                 {"kind", "groups", "publishers", "degree", "sets", "files_per_set", "file_size",
                  "large_size", "large_share", "start", "set_interval", "file_interval", "settle",
                  "client_fetches", "client_start", "client_interval"});
  params p;
  auto group_name = [&](const json& v, const std::string& at) {
    auto name = cfg::get_string(v, at);
    auto* g = s.find_group(name);
    if (!g)
      cfg::fail(at, "the name of a group", v);
    return name;
  };
  auto* g = cfg::member(item, "groups");
  if (!g)
    cfg::fail_msg(
      path, "fileset workload needs \"groups\" (the groups whose nodes run the fileset role)");
  cfg::require_array(*g, cfg::child(path, "groups"));
  if (g->empty())
    cfg::fail(cfg::child(path, "groups"), "at least one group", *g);
  for (std::size_t i = 0; i < g->size(); ++i) {
    auto name = group_name((*g)[i], cfg::index(cfg::child(path, "groups"), i));
    if (std::find(p.groups.begin(), p.groups.end(), name) != p.groups.end())
      cfg::fail(cfg::index(cfg::child(path, "groups"), i), "a group named once", (*g)[i]);
    p.groups.push_back(name);
  }
  auto* pub = cfg::member(item, "publishers");
  if (!pub)
    cfg::fail_msg(path, "fileset workload needs \"publishers\" (a group that uploads the sets)");
  p.publishers = group_name(*pub, cfg::child(path, "publishers"));
  if (std::find(p.groups.begin(), p.groups.end(), p.publishers) == p.groups.end())
    cfg::fail(cfg::child(path, "publishers"), "one of the groups listed in \"groups\"", *pub);
  auto count = [&](const char* k, std::uint64_t& f, std::uint64_t lo, std::uint64_t hi) {
    if (auto* v = cfg::member(item, k)) {
      f = cfg::get_count(*v, cfg::child(path, k));
      if (f < lo || f > hi)
        cfg::fail(cfg::child(path, k),
                  "an integer from " + std::to_string(lo) + " to " + std::to_string(hi), *v);
    }
  };
  auto size = [&](const char* k, std::uint64_t& f) {
    if (auto* v = cfg::member(item, k)) {
      f = cfg::get_size(*v, cfg::child(path, k));
      if (f > peerlab::fileset::limits::file_bytes_max)
        cfg::fail(cfg::child(path, k), "a size up to 64MiB", *v);
    }
  };
  auto duration = [&](const char* k, time_us& f) {
    if (auto* v = cfg::member(item, k))
      f = cfg::get_duration(*v, cfg::child(path, k));
  };
  count("degree", p.degree, 1, max_degree);
  count("sets", p.sets, 1, max_total_files);
  count("files_per_set", p.files_per_set, 1, peerlab::fileset::limits::set_files_max);
  if (p.sets * p.files_per_set > max_total_files)
    cfg::fail_msg(path, "sets x files_per_set must be at most 100000");
  // The driver keeps every file and a first-arrival time per (file, node).
  if (p.sets * p.files_per_set * s.node_count() > 50'000'000)
    cfg::fail_msg(path, "sets x files_per_set x nodes must be at most 50 million (arrival table)");
  size("file_size", p.file_size);
  size("large_size", p.large_size);
  if (auto* v = cfg::member(item, "large_share"))
    p.large_share = cfg::get_probability(*v, cfg::child(path, "large_share"));
  duration("start", p.start);
  duration("set_interval", p.set_interval);
  duration("file_interval", p.file_interval);
  duration("settle", p.settle);
  if (static_cast<double>(p.sets * p.files_per_set) *
        static_cast<double>(std::max(p.file_size, p.large_share > 0 ? p.large_size : 0)) >
      static_cast<double>(1ull << 30))
    cfg::fail_msg(path, "the published files would exceed 1 GiB of driver memory");
  count("client_fetches", p.client_fetches, 0, 10'000'000);
  duration("client_start", p.client_start);
  duration("client_interval", p.client_interval);
  if (p.client_fetches > 0 && p.client_interval <= 0)
    cfg::fail(cfg::child(path, "client_interval"), "a positive duration", item["client_interval"]);
  return p;
}

std::string hex_arg(const bytes& b) { return to_hex(byte_view{b.data(), b.size()}); }

double percentile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
}

enum tick_kind : std::uint64_t { k_publish = 1, k_client = 2 };

class driver final : public workload_driver {
public:
  explicit driver(params p) : p_(std::move(p)) {}

  void start(sim_api& api) override {
    const auto n = api.node_count();
    member_.assign(n, false);
    up_since_.assign(n, -1);
    roots_.assign(n, {});
    for (auto& g : p_.groups) {
      auto [a, b] = api.group_nodes(g);
      for (auto i = a; i < b; ++i) {
        member_[i] = true;
        members_.push_back(i);
      }
    }
    std::sort(members_.begin(), members_.end());
    auto [pa, pb] = api.group_nodes(p_.publishers);
    for (auto i = pa; i < pb; ++i)
      publishers_.push_back(i);
    // Contents come from one generator seeded off the workload stream.
    rng content(api.workload_rng().next());
    for (std::uint64_t s = 0; s < p_.sets; ++s) {
      pub_set ps;
      ps.id = "set" + std::to_string(s);
      merkle::tree t;
      for (std::uint64_t i = 0; i < p_.files_per_set; ++i) {
        auto size = content.chance(p_.large_share) ? p_.large_size : p_.file_size;
        bytes b(size);
        for (auto& x : b)
          x = static_cast<std::uint8_t>(content.next());
        t.append(b);
        ps.files.push_back(std::move(b));
        ps.file_base = files_total_;
      }
      ps.root = t.root();
      ps.published_at.assign(p_.files_per_set, -1);
      index_of_[ps.id] = sets_.size();
      sets_.push_back(std::move(ps));
      files_total_ += p_.files_per_set;
    }
    first_store_.assign(files_total_, std::vector<time_us>(n, -1));
    for (std::uint64_t s = 0; s < p_.sets; ++s)
      api.schedule(later(p_.start, times(s, p_.set_interval)), 0, (k_publish << 56) | (s << 24));
    if (p_.client_fetches > 0)
      api.schedule(p_.client_start, 0, k_client << 56);
  }

  void tick(sim_api& api, std::uint32_t, std::uint64_t arg) override {
    if ((arg >> 56) == k_publish)
      return publish(api, (arg >> 24) & 0xffffffff, arg & 0xffffff);
    if ((arg >> 56) == k_client)
      return client_fetch(api);
  }

  void on_node_up(sim_api& api, std::uint32_t node) override {
    if (!member_[node])
      return;
    up_since_[node] = api.now();
    // Peers: online members first, any member if too few are up.
    std::set<std::uint32_t> peers;
    auto& r = api.workload_rng();
    const std::size_t want = std::min<std::size_t>(p_.degree, members_.size() - 1);
    for (std::size_t attempt = 0; attempt < 8 * want && peers.size() < want; ++attempt) {
      auto c = members_[r.below(members_.size())];
      if (c != node && api.online(c))
        peers.insert(c);
    }
    for (std::size_t attempt = 0; attempt < 8 * want && peers.size() < want; ++attempt) {
      auto c = members_[r.below(members_.size())];
      if (c != node)
        peers.insert(c);
    }
    if (peers.empty())
      return;
    std::vector<std::string> args;
    for (auto p : peers)
      args.push_back(api.peer_arg(p));
    api.issue_command(node, "fileset", "connect", std::move(args));
  }

  void on_node_down(sim_api&, std::uint32_t node, bool) override {
    if (!member_[node])
      return;
    up_since_[node] = -1;
    roots_[node].clear(); // a restart announces its restored sets again
  }

  void on_event(sim_api& api, std::uint32_t node, const event& e) override {
    if (e.command_id != 0) {
      if (auto it = pending_.find(e.command_id); it != pending_.end()) {
        auto q = it->second;
        pending_.erase(it);
        return client_reply(api, node, q, e);
      }
    }
    if (e.kind == "fileset_stored") {
      auto* set = e.field("set");
      auto it = set ? index_of_.find(*set) : index_of_.end();
      if (it == index_of_.end())
        return;
      auto i = static_cast<std::uint64_t>(e.value("index", -1));
      auto& ps = sets_[it->second];
      if (i < ps.files.size() && first_store_[ps.file_base + i][node] < 0)
        first_store_[ps.file_base + i][node] = api.now();
    } else if (e.kind == "fileset_complete") {
      auto* set = e.field("set");
      auto* root = e.field("root");
      if (set && root)
        if (auto d = digest_from_hex(*root))
          roots_[node][*set] = *d;
    }
  }

  bool evaluate(const sim_api& api, const checker_spec& c, verdict& v) const override {
    if (c.check == "fileset_converged")
      return converged(api, c, v), true;
    if (c.check == "fileset_no_corrupt_accepted")
      return no_corrupt(c, v), true;
    if (c.check == "fileset_propagation")
      return propagation_check(api, c, v), true;
    return false;
  }

  void summarize(const sim_api& api, json& summary) const override {
    auto f = figures(api, {});
    json j;
    j["sets_published"] = sets_published_;
    j["files_published"] = f.files;
    j["files_reaching_all"] = f.reached_all;
    j["reach_all_median_ms"] = percentile(f.reach_all, 0.5) / 1000.0;
    j["reach_all_p99_ms"] = percentile(f.reach_all, 0.99) / 1000.0;
    j["reach_all_max_ms"] = percentile(f.reach_all, 1.0) / 1000.0;
    j["node_delay_median_ms"] = percentile(f.node_delay, 0.5) / 1000.0;
    j["node_delay_p99_ms"] = percentile(f.node_delay, 0.99) / 1000.0;
    j["client_fetches"] = fetches_issued_;
    j["client_verified"] = verified_;
    j["client_rejected"] = rejected_;
    j["client_failed"] = failed_;
    j["client_corrupt_accepted"] = corrupt_accepted_;
    summary["fileset"] = j;
  }

private:
  struct pub_set {
    std::string id;
    std::vector<bytes> files;
    std::uint64_t file_base = 0;
    digest root{};
    std::vector<time_us> published_at; // per file; -1 = not yet
    time_us completed_at = -1;         // when its last file was put
  };
  struct query {
    std::size_t set;
    std::uint32_t index;
  };
  struct figure_data {
    std::uint64_t files = 0, reached_all = 0;
    std::vector<double> reach_all, node_delay; // microseconds
    std::string first_missing;
  };

  void publish(sim_api& api, std::uint64_t s, std::uint64_t from_index) {
    auto& ps = sets_[s];
    std::vector<std::uint32_t> online;
    for (auto n : publishers_)
      if (api.online(n))
        online.push_back(n);
    if (online.empty()) { // nobody to upload to: try again in a second
      api.schedule(api.now() + us_per_s, 0, (k_publish << 56) | (s << 24) | from_index);
      return;
    }
    auto node = online[api.workload_rng().below(online.size())];
    const auto count = std::to_string(ps.files.size());
    for (auto i = from_index; i < ps.files.size(); ++i) {
      if (api.issue_command(node, "fileset", "put",
                            {ps.id, std::to_string(i), count, hex_arg(ps.files[i])}) == 0)
        break;
      ps.published_at[i] = api.now();
      if (p_.file_interval > 0 && i + 1 < ps.files.size()) {
        api.schedule(api.now() + p_.file_interval, 0, (k_publish << 56) | (s << 24) | (i + 1));
        return;
      }
    }
    ps.completed_at = api.now();
    ++sets_published_;
    api.count("fileset.sets_published", 1, api.group_of(node));
  }

  void client_fetch(sim_api& api) {
    if (fetches_issued_ >= p_.client_fetches)
      return;
    api.schedule(api.now() + p_.client_interval, 0, k_client << 56);
    std::vector<std::size_t> ready;
    for (std::size_t s = 0; s < sets_.size(); ++s)
      if (sets_[s].completed_at >= 0 && sets_[s].completed_at + p_.settle <= api.now())
        ready.push_back(s);
    std::vector<std::uint32_t> online;
    for (auto n : members_)
      if (api.online(n))
        online.push_back(n);
    if (ready.empty() || online.empty())
      return;
    auto& r = api.workload_rng();
    auto s = ready[r.below(ready.size())];
    auto i = static_cast<std::uint32_t>(r.below(sets_[s].files.size()));
    auto node = online[r.below(online.size())];
    auto id = api.issue_command(node, "fileset", "get", {sets_[s].id, std::to_string(i)});
    if (id == 0)
      return;
    ++fetches_issued_;
    pending_[id] = {s, i};
  }

  /// The client library's check: the requested index, the stored size, the stored root.
  void client_reply(sim_api& api, std::uint32_t node, const query& q, const event& e) {
    auto group = api.group_of(node);
    if (e.kind != "fileset_file") {
      ++failed_;
      api.count("fileset.client_failed", 1, group);
      return;
    }
    auto& ps = sets_[q.set];
    auto* content_hex = e.field("content");
    auto* proof_text = e.field("proof");
    auto content = content_hex ? bytes_from_hex(*content_hex) : std::nullopt;
    auto proof = proof_text ? peerlab::fileset::split_proof(*proof_text) : std::nullopt;
    bool ok = content && proof && e.value("index", -1) == q.index &&
              merkle::verify_inclusion_of_data(*content, q.index, ps.files.size(), *proof, ps.root);
    if (!ok) {
      ++rejected_;
      api.count("fileset.client_rejected", 1, group);
      return;
    }
    if (*content != ps.files[q.index]) {
      ++corrupt_accepted_;
      api.count("fileset.client_corrupt_accepted", 1, group);
      return;
    }
    ++verified_;
    api.count("fileset.client_verified", 1, group);
  }

  std::set<std::uint32_t> checked_groups(const sim_api& api, const checker_spec& c,
                                         std::string& error) const {
    std::set<std::uint32_t> out;
    std::vector<std::string> names = p_.groups;
    if (auto* g = cfg::member(c.raw, "groups")) {
      names.clear();
      if (!g->is_array()) {
        error = "\"groups\" must be an array of group names";
        return out;
      }
      for (auto& n : *g)
        if (n.is_string())
          names.push_back(n.get<std::string>());
    }
    for (auto& n : names) {
      try {
        auto [a, b] = api.group_nodes(n);
        if (a < b)
          out.insert(api.group_of(a));
      } catch (const std::exception&) {
        error = "no group \"" + n + "\"";
      }
    }
    return out;
  }

  void converged(const sim_api& api, const checker_spec& c, verdict& v) const {
    std::string error;
    auto groups = checked_groups(api, c, error);
    if (!error.empty()) {
      v.detail = error;
      return;
    }
    const time_us cutoff = api.end_time() - p_.settle;
    std::uint64_t pairs = 0, ok = 0, sets_checked = 0;
    std::string example;
    for (auto& ps : sets_) {
      if (ps.completed_at < 0 || ps.completed_at > cutoff)
        continue;
      ++sets_checked;
      for (auto n : members_) {
        if (!api.online(n) || !groups.count(api.group_of(n)) || up_since_[n] < 0 ||
            up_since_[n] > cutoff)
          continue;
        ++pairs;
        auto it = roots_[n].find(ps.id);
        if (it != roots_[n].end() && it->second == ps.root) {
          ++ok;
        } else if (example.empty()) {
          example = "node " + std::to_string(n) +
                    (it == roots_[n].end() ? " has not completed " : " has another root for ") +
                    ps.id;
        }
      }
    }
    v.passed = sets_checked > 0 && pairs > 0 && ok == pairs;
    v.detail = std::to_string(ok) + " of " + std::to_string(pairs) +
               " (node, set) pairs converged on " + std::to_string(sets_checked) + " sets";
    if (!example.empty())
      v.detail += "; e.g. " + example;
    if (sets_checked == 0)
      v.detail += " (no set was published early enough to check)";
  }

  void no_corrupt(const checker_spec& c, verdict& v) const {
    auto min_of = [&](const char* k) -> std::uint64_t {
      auto* m = cfg::member(c.raw, k);
      return m && m->is_number_unsigned() ? m->get<std::uint64_t>() : 0;
    };
    const auto min_rejected = min_of("min_rejected"), min_verified = min_of("min_verified");
    v.passed = corrupt_accepted_ == 0 && verified_ + rejected_ > 0 && rejected_ >= min_rejected &&
               verified_ >= min_verified;
    v.detail = std::to_string(corrupt_accepted_) + " corrupted files accepted; " +
               std::to_string(verified_) + " verified, " + std::to_string(rejected_) +
               " rejected (wanted >= " + std::to_string(min_rejected) + "), " +
               std::to_string(failed_) + " failed of " + std::to_string(fetches_issued_) +
               " fetches";
  }

  void propagation_check(const sim_api& api, const checker_spec& c, verdict& v) const {
    auto f = figures(api, {});
    time_us max_p99 = 0;
    if (auto* m = cfg::member(c.raw, "max_p99")) {
      try {
        max_p99 = cfg::get_duration(*m, "max_p99");
      } catch (const std::exception& e) {
        v.detail = e.what();
        return;
      }
    }
    const double p99 = percentile(f.reach_all, 0.99);
    v.passed = f.files > 0 && f.reached_all == f.files &&
               (max_p99 == 0 || p99 <= static_cast<double>(max_p99));
    v.detail = std::to_string(f.reached_all) + " of " + std::to_string(f.files) +
               " files reached every node online since their publication; p99 " +
               std::to_string(p99 / 1000.0) + " ms";
    if (!f.first_missing.empty())
      v.detail += "; e.g. " + f.first_missing;
  }

  figure_data figures(const sim_api& api, const std::set<std::uint32_t>&) const {
    figure_data f;
    for (auto& ps : sets_) {
      for (std::size_t i = 0; i < ps.files.size(); ++i) {
        const time_us t0 = ps.published_at[i];
        if (t0 < 0)
          continue;
        ++f.files;
        double worst = 0;
        bool all = true;
        for (auto n : members_) {
          if (!api.online(n) || up_since_[n] < 0 || up_since_[n] > t0)
            continue;
          const time_us t = first_store_[ps.file_base + i][n];
          if (t < 0) {
            all = false;
            if (f.first_missing.empty())
              f.first_missing =
                "node " + std::to_string(n) + " lacks " + ps.id + "/" + std::to_string(i);
            continue;
          }
          const double d = static_cast<double>(t - t0);
          f.node_delay.push_back(d);
          worst = std::max(worst, d);
        }
        if (all) {
          ++f.reached_all;
          f.reach_all.push_back(worst);
        }
      }
    }
    return f;
  }

  params p_;
  std::vector<bool> member_;
  std::vector<std::uint32_t> members_, publishers_;
  std::vector<time_us> up_since_;
  std::vector<std::map<std::string, digest>> roots_;
  std::vector<pub_set> sets_;
  std::map<std::string, std::size_t> index_of_;
  std::uint64_t files_total_ = 0;
  std::vector<std::vector<time_us>> first_store_; // [file][node]
  std::map<std::uint64_t, query> pending_;
  std::uint64_t sets_published_ = 0, fetches_issued_ = 0;
  std::uint64_t verified_ = 0, rejected_ = 0, failed_ = 0, corrupt_accepted_ = 0;
};

} // namespace

driver_kind fileset_driver_kind() {
  driver_kind k;
  k.validate = [](const json& item, const std::string& path, const scenario& s) {
    parse(item, path, s);
  };
  k.make = [](const json& item, const scenario& s) -> std::unique_ptr<workload_driver> {
    return std::make_unique<driver>(parse(item, "workload", s));
  };
  k.checkers = {"fileset_converged", "fileset_no_corrupt_accepted", "fileset_propagation"};
  return k;
}

} // namespace peerlab::sim::fileset_sim
