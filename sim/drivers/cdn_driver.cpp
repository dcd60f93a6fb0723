#include "sim/drivers/cdn_driver.hpp"

#include "protocols/cdn/origin.hpp"
#include "protocols/cdn/site.hpp"
#include "protocols/common/config_fields.hpp"
#include "protocols/registry.hpp"
#include "sim/checkers.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace peerlab::sim::cdn_sim {

namespace {

using nlohmann::json;

struct client_group {
  std::string group;
  time_us arrive_from = 0, arrive_until = 0;
};

struct params {
  std::string server;
  std::vector<client_group> clients;
  std::string page = "/index";
};

// {"from", "until"} into a window, checked against the scenario's duration.
void arrival(const json& a, const std::string& path, const scenario& s, client_group& g) {
  cfg::require_object(a, path);
  cfg::only_keys(a, path, {"from", "until"});
  cfg::fields af(a, path);
  af.duration("from", g.arrive_from);
  af.duration("until", g.arrive_until);
  if (!(g.arrive_from <= g.arrive_until && g.arrive_until < s.duration))
    cfg::fail_msg(path, "need from <= until < the scenario's duration");
}

params parse(const json& item, const std::string& path, const scenario& s) {
  cfg::only_keys(item, path, {"kind", "server", "clients", "page", "arrive"});
  params p;
  auto group = [&](const json& v, const std::string& at) {
    auto name = cfg::get_string(v, at);
    if (!s.find_group(name))
      cfg::fail(at, "the name of a group", v);
    return name;
  };
  p.server = group(cfg::required(item, path, "server", "the group of the server node"),
                   cfg::child(path, "server"));
  if (s.find_group(p.server)->count != 1)
    cfg::fail_msg(cfg::child(path, "server"), "must be a group of exactly one node");
  cfg::fields f(item, path);
  f.text("page", p.page);
  client_group all;
  all.arrive_until = s.duration / 2;
  if (auto* a = f["arrive"])
    arrival(*a, f.path("arrive"), s, all);
  // Each entry: a group name (the item's arrival window) or {"group", "arrive"}.
  auto& cl = cfg::required(item, path, "clients", "a list of group names");
  auto cp = cfg::child(path, "clients");
  cfg::require_array(cl, cp);
  for (std::size_t i = 0; i < cl.size(); ++i) {
    auto ip = cfg::index(cp, i);
    client_group g = all;
    if (cl[i].is_object()) {
      cfg::only_keys(cl[i], ip, {"group", "arrive"});
      g.group = group(cfg::required(cl[i], ip, "group"), cfg::child(ip, "group"));
      if (auto* a = cfg::member(cl[i], "arrive"))
        arrival(*a, cfg::child(ip, "arrive"), s, g);
    } else {
      g.group = group(cl[i], ip);
    }
    p.clients.push_back(g);
  }
  if (p.clients.empty())
    cfg::fail_msg(cp, "needs at least one group");
  return p;
}

enum tick_kind : std::uint64_t { locate_tick = 1, load_tick = 2 };

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v)
    s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

std::uint64_t u64_of(const std::string* s) {
  std::uint64_t v = 0;
  if (s)
    std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

class driver final : public workload_driver {
public:
  explicit driver(params p) : p_(std::move(p)) {}

  void start(sim_api& api) override {
    server_ = api.group_nodes(p_.server).first;
    for (auto& g : p_.clients)
      for (auto [a, b] = api.group_nodes(g.group); a < b; ++a) {
        clients_.insert(a);
        auto span = static_cast<std::uint64_t>(g.arrive_until - g.arrive_from);
        auto at = g.arrive_from + static_cast<time_us>(api.workload_rng().below(span + 1));
        api.schedule(at, a, load_tick);
      }
  }

  void tick(sim_api& api, std::uint32_t node, std::uint64_t a) override {
    if (a == locate_tick) {
      locate(api, node);
      return;
    }
    auto& st = state_[node];
    if (st.load_cmd || st.loaded)
      return;
    if (!api.online(node)) {
      if (api.now() + us_per_s < api.end_time())
        api.schedule(api.now() + us_per_s, node, load_tick);
      return;
    }
    st.load_cmd = api.issue_command(node, "cdn_client", "load", {p_.page});
    if (st.load_cmd)
      ++loads_issued_;
  }

  void on_node_up(sim_api& api, std::uint32_t node) override {
    if (node == server_) {
      if (server_down_at_ >= 0) {
        restart_at_ = api.now();
        rejoined_.clear();
        settled_at_ = -1;
      }
      return;
    }
    if (!clients_.contains(node))
      return;
    api.schedule(api.now(), node, locate_tick);
    auto& st = state_[node];
    if (st.interrupted && !st.loaded) {
      st.interrupted = false;
      api.schedule(api.now() + us_per_s, node, load_tick);
    }
  }

  void on_node_down(sim_api& api, std::uint32_t node, bool) override {
    if (node == server_) {
      server_down_at_ = api.now();
      ++server_restarts_;
      return;
    }
    auto& st = state_[node];
    if (st.load_cmd) {
      st.load_cmd = 0;
      st.interrupted = true;
      ++loads_interrupted_;
    }
  }

  void on_event(sim_api& api, std::uint32_t node, const event& e) override {
    const auto& k = e.kind;
    if (k == "cdn_fetch_done") {
      auto& src = *e.field("source");
      ++by_source_[src];
      peer_bytes_ += e.value("peer_bytes");
      origin_bytes_ += e.value("origin_bytes");
      if (src != "cache")
        ttfb_[src].push_back(e.value("ttfb_us") / 1000.0);
      check_hash(api, *e.field("url"), *e.field("sha224"));
    } else if (k == "cdn_fetch_failed") {
      ++fetch_failed_;
    } else if (k == "load_done" || k == "load_failed") {
      auto& st = state_[node];
      if (e.command_id == 0 || e.command_id != st.load_cmd)
        return;
      st.load_cmd = 0;
      st.loaded = true;
      ++(k == "load_done" ? loads_done_ : loads_failed_);
    } else if (k == "cdn_linked") {
      rtt_ms_.push_back(e.value("rtt_us") / 1000.0);
      auto peer = u64_of(e.field("peer"));
      if (peer < api.node_count())
        base_rtt_ms_.push_back(
          static_cast<double>(api.base_rtt(node, static_cast<std::uint32_t>(peer))) / 1000.0);
    } else if (k == "cdn_evicted") {
      ++evictions_;
      if (*e.field("reason") == "served bytes that fail the SHA-224") {
        ++bad_byte_evictions_;
        auto liar = static_cast<std::uint32_t>(u64_of(e.field("peer")));
        if (liar >= api.node_count() || !api.spec().groups[api.group_of(liar)].adversary.size())
          ++honest_evicted_;
      }
    } else if (k == "cdn_resumed") {
      ++resumes_;
    } else if (k == "cdn_joined") {
      if (restart_at_ >= 0 && settled_at_ < 0) {
        rejoined_.insert(node);
        std::size_t online = 0;
        for (auto c : clients_)
          online += api.online(c) ? 1 : 0;
        if (rejoined_.size() >= online)
          settled_at_ = api.now();
      }
    } else if (k == "cdn_signal_load") {
      load_.push_back(e.value("msgs"));
      if (restart_at_ >= 0 && api.now() >= restart_at_)
        after_restart_peak_ = std::max(after_restart_peak_, e.value("msgs"));
    }
  }

  bool evaluate(const sim_api&, const checker_spec& c, verdict& v) const override {
    const auto& n = c.check;
    if (n == "cdn_no_corrupt_use") {
      v.passed = corrupt_used_ == 0 && hashes_checked_ > 0;
      v.detail = std::to_string(corrupt_used_) + " resources used with a wrong SHA-224 of " +
                 std::to_string(hashes_checked_) + " checked";
    } else if (n == "cdn_fetches_end") {
      const double max_failed = c.has_max ? c.max : 0;
      const double fetches = static_cast<double>(fetch_failed_ + total_done());
      const double failed_share = fetches > 0 ? static_cast<double>(fetch_failed_) / fetches : 0;
      const auto open = loads_issued_ - loads_done_ - loads_failed_ - loads_interrupted_;
      v.passed = open == 0 && loads_issued_ > 0 && failed_share <= max_failed;
      v.detail = std::to_string(loads_done_) + " loads done, " + std::to_string(loads_failed_) +
                 " failed, " + std::to_string(loads_interrupted_) + " cut short by churn, " +
                 std::to_string(open) + " never ended; failed fetches " +
                 std::to_string(fetch_failed_) + " (share " + std::to_string(failed_share) + ")";
    } else if (n == "cdn_offload") {
      const double o = offload();
      v.passed = !c.has_min || o >= c.min;
      v.detail =
        "offload " + std::to_string(o) + (c.has_min ? " (min " + std::to_string(c.min) + ")" : "");
    } else if (n == "cdn_liars_evicted") {
      v.passed = bad_byte_evictions_ > 0 && honest_evicted_ == 0 && corrupt_used_ == 0;
      v.detail = std::to_string(bad_byte_evictions_) + " evictions for bad bytes, " +
                 std::to_string(honest_evicted_) + " of honest peers";
    } else if (n == "cdn_settles") {
      time_us within = 60 * us_per_s;
      if (auto w = c.raw.find("within"); w != c.raw.end())
        within = cfg::get_duration(*w, "within");
      const time_us took = settled_at_ < 0 ? -1 : settled_at_ - restart_at_;
      v.passed = restart_at_ >= 0 && took >= 0 && took <= within;
      v.detail = restart_at_ < 0 ? "the server never restarted"
                 : took < 0      ? "clients never all rejoined"
                            : "settled " + std::to_string(took / 1000) + " ms after the restart";
    } else {
      return false;
    }
    return true;
  }

  void summarize(const sim_api&, json& summary) const override {
    json f;
    f["loads_issued"] = loads_issued_;
    f["loads_done"] = loads_done_;
    f["loads_failed"] = loads_failed_;
    f["loads_interrupted"] = loads_interrupted_;
    f["fetches_failed"] = fetch_failed_;
    for (auto& [src, n] : by_source_)
      f["fetches_from"][src] = n;
    f["peer_bytes"] = peer_bytes_;
    f["origin_bytes"] = origin_bytes_;
    f["offload"] = offload();
    // Propagation only (the network model's base), and as the clients measured
    // it (HELLO to HELLO_ACK, with queueing behind other traffic).
    f["pair_base_rtt_ms"] = {{"links", base_rtt_ms_.size()},
                             {"mean", mean(base_rtt_ms_)},
                             {"p50", quantile(base_rtt_ms_, 0.5)},
                             {"p90", quantile(base_rtt_ms_, 0.9)}};
    f["pair_rtt_ms"] = {{"links", rtt_ms_.size()},
                        {"mean", mean(rtt_ms_)},
                        {"p50", quantile(rtt_ms_, 0.5)},
                        {"p90", quantile(rtt_ms_, 0.9)}};
    for (auto& [src, v] : ttfb_)
      f["ttfb_ms"][src] = {{"p50", quantile(v, 0.5)}, {"p90", quantile(v, 0.9)}, {"n", v.size()}};
    f["evictions"] = evictions_;
    f["bad_byte_evictions"] = bad_byte_evictions_;
    f["resumes"] = resumes_;
    f["corrupt_used"] = corrupt_used_;
    f["server"] = {
      {"msgs_per_s_peak", load_.empty() ? 0 : *std::max_element(load_.begin(), load_.end())},
      {"msgs_per_s_mean", mean(load_)},
      {"restarts", server_restarts_},
      {"peak_after_restart", after_restart_peak_},
      {"settle_s", settled_at_ < 0 || restart_at_ < 0
                     ? -1.0
                     : static_cast<double>(settled_at_ - restart_at_) / 1e6}};
    summary["cdn"] = f;
  }

private:
  struct node_state {
    std::uint64_t load_cmd = 0;
    bool loaded = false, interrupted = false;
  };

  void locate(sim_api& api, std::uint32_t node) {
    auto pt = api.node_point(node);
    double lat = 0, lon = 0;
    if (pt) { // x/y km -> degrees near the equator (the model is planar)
      lon = std::clamp(pt->first / 111.2, -180.0, 180.0);
      lat = std::clamp(pt->second / 111.2, -90.0, 90.0);
    }
    char a[32], b[32];
    std::snprintf(a, sizeof a, "%.4f", lat);
    std::snprintf(b, sizeof b, "%.4f", lon);
    api.issue_command(node, "cdn_client", "locate", {a, b});
  }

  // The listing as the origin serves it, from an origin role built from the
  // server group's own config (its bytes are a function of the config): the
  // same in the simulator and on the live testbed, where the running role is
  // in another process.
  void check_hash(sim_api& api, const std::string& url, const std::string& sha) {
    if (listing_.empty()) {
      auto& g = api.spec().groups[api.group_of(server_)];
      for (auto& r : make_roles(g.roles, "groups." + g.name + ".roles", g.adversary))
        if (auto* o = dynamic_cast<const cdn::origin*>(r.get())) {
          std::string err;
          if (auto items = cdn::parse_listing(cdn::build_site(o->config().resources).listing, err))
            for (auto& i : *items)
              listing_[i.url] = cdn::hex(i.sha);
        }
    }
    auto it = listing_.find(url);
    ++hashes_checked_;
    if (it == listing_.end() || it->second != sha)
      ++corrupt_used_;
  }

  double offload() const {
    const double all = peer_bytes_ + origin_bytes_;
    return all > 0 ? peer_bytes_ / all : 0;
  }
  std::uint64_t total_done() const {
    std::uint64_t n = 0;
    for (auto& [s, c] : by_source_)
      n += c;
    return n;
  }

  params p_;
  std::uint32_t server_ = 0;
  std::set<std::uint32_t> clients_;
  std::map<std::uint32_t, node_state> state_;
  std::map<std::string, std::string> listing_;
  std::uint64_t loads_issued_ = 0, loads_done_ = 0, loads_failed_ = 0, loads_interrupted_ = 0;
  std::uint64_t fetch_failed_ = 0, hashes_checked_ = 0, corrupt_used_ = 0;
  std::map<std::string, std::uint64_t> by_source_;
  double peer_bytes_ = 0, origin_bytes_ = 0;
  std::vector<double> rtt_ms_, base_rtt_ms_;
  std::map<std::string, std::vector<double>> ttfb_;
  std::uint64_t evictions_ = 0, bad_byte_evictions_ = 0, honest_evicted_ = 0, resumes_ = 0;
  std::vector<double> load_;
  time_us server_down_at_ = -1, restart_at_ = -1, settled_at_ = -1;
  std::uint64_t server_restarts_ = 0;
  double after_restart_peak_ = 0;
  std::set<std::uint32_t> rejoined_;
};

} // namespace

driver_kind cdn_driver_kind() {
  driver_kind k;
  k.validate = [](const json& item, const std::string& path, const scenario& s) {
    parse(item, path, s);
  };
  k.make = [](const json& item, const scenario& s) -> std::unique_ptr<workload_driver> {
    return std::make_unique<driver>(parse(item, "workload", s));
  };
  k.checkers = {"cdn_no_corrupt_use", "cdn_fetches_end", "cdn_offload", "cdn_liars_evicted",
                "cdn_settles"};
  k.parse_checker = [](checker_spec& c, const std::string& path, const scenario&) {
    cfg::only_keys(c.raw, path, {"check", "min", "max", "within"});
    if (auto* m = cfg::member(c.raw, "min")) {
      c.min = cfg::get_number(*m, cfg::child(path, "min"));
      c.has_min = true;
    }
    if (auto* m = cfg::member(c.raw, "max")) {
      c.max = cfg::get_number(*m, cfg::child(path, "max"));
      c.has_max = true;
    }
    if (auto* w = cfg::member(c.raw, "within"))
      cfg::get_duration(*w, cfg::child(path, "within"));
  };
  return k;
}

} // namespace peerlab::sim::cdn_sim
