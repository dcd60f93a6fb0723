// Running the DHT workload: bootstrap on every start, provides, lookups,
// downloads through the DHT, and replication sampling.
#include "sim/drivers/dht_driver.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/kad/node.hpp"
#include "sim/sim_time.hpp"
#include "sim/synthetic_content.hpp"
#include "sim/seed_streams.hpp"

#include <algorithm>

namespace peerlab::sim::dht {

namespace {

constexpr std::uint64_t payload_mask = (std::uint64_t{1} << 56) - 1;
constexpr int pick_attempts = 64; // random draws to find an online node before giving up

} // namespace

driver::driver(spec s, const scenario& sc) : spec_(std::move(s)) {
  for (std::size_t i = 0; i < sc.checkers.size(); ++i) {
    auto& names = checker_names();
    if (std::find(names.begin(), names.end(), sc.checkers[i].check) != names.end())
      validate_checker(sc.checkers[i], "checkers[" + std::to_string(i) + "]");
  }
  std::uint32_t n = 0;
  for (auto& g : sc.groups) {
    node_first_.push_back(n);
    n += static_cast<std::uint32_t>(g.count);
    kad_group_.push_back(std::find(spec_.kad_groups.begin(), spec_.kad_groups.end(), g.name) !=
                         spec_.kad_groups.end());
  }
  node_first_.push_back(n);
  ids_.resize(n);
  have_id_.assign(n, false);
}

bool driver::is_kad(std::uint32_t node) const {
  auto g = std::upper_bound(node_first_.begin(), node_first_.end(), node) - node_first_.begin() - 1;
  return kad_group_[static_cast<std::size_t>(g)];
}

const kad::kad_id& driver::id_of(std::uint32_t node) {
  if (!have_id_[node]) {
    ids_[node] = kad::id_of(node);
    have_id_[node] = true;
  }
  return ids_[node];
}

std::uint32_t driver::random_online(sim_api& api, std::uint32_t first, std::uint32_t last) {
  for (int i = 0; i < pick_attempts; ++i) {
    auto n = first + static_cast<std::uint32_t>(api.workload_rng().below(last - first));
    if (api.online(n))
      return n;
  }
  return last; // none found
}

// -- set-up -------------------------------------------------------------------

void driver::start(sim_api& api) {
  samples_rng_ = stream_rng(api.run_seed(), seed_stream::dht_samples);
  auto& r = api.workload_rng();
  boot_ = api.group_nodes(spec_.bootstrap.group);
  if (spec_.has_provide) {
    auto& pr = spec_.provide;
    auto when = [&] {
      return later(pr.at, static_cast<time_us>(r.below(static_cast<std::uint64_t>(pr.spread) + 1)));
    };
    auto add = [&](const kad::kad_id& key, std::vector<std::uint32_t> providers) {
      auto idx = static_cast<std::uint32_t>(records_.size());
      record rec;
      rec.key = key;
      rec.hex = to_hex(key);
      rec.announced.assign(providers.size(), -1);
      rec.providers = std::move(providers);
      for (std::uint32_t pos = 0; pos < rec.providers.size(); ++pos) {
        provides_of_node_[rec.providers[pos]].push_back({idx, pos});
        api.schedule(when(), rec.providers[pos],
                     arg(act_provide, (std::uint64_t{idx} << 16) | pos));
      }
      record_of_key_[key] = idx;
      records_.push_back(std::move(rec));
    };
    if (pr.keys > 0) {
      auto [first, last] = api.group_nodes(pr.group);
      for (std::uint64_t i = 0; i < pr.keys; ++i) {
        kad::kad_id key;
        for (std::size_t b = 0; b < key.size(); b += 8) {
          auto v = r.next();
          for (std::size_t j = 0; j < 8; ++j)
            key[b + j] = static_cast<std::uint8_t>(v >> (8 * j));
        }
        if (record_of_key_.count(key))
          continue;
        add(key, {first + static_cast<std::uint32_t>(r.below(last - first))});
      }
    } else {
      auto& cat = api.catalog();
      for (std::uint32_t f = 0; f < cat.size(); ++f) {
        auto& file = cat.at(f);
        if (api.spec().file_sets[file.set].name != pr.files || record_of_key_.count(file.hash))
          continue;
        std::vector<std::uint32_t> holders;
        for (auto h : file.holders)
          if (is_kad(h) && holders.size() < 0xffff)
            holders.push_back(h);
        add(file.hash, std::move(holders));
      }
    }
  }
  lookups_run_.assign(spec_.lookups.size(), 0);
  for (std::uint32_t i = 0; i < spec_.lookups.size(); ++i) {
    auto& l = spec_.lookups[i];
    time_us t = later(l.start, delay_us(l.interval.sample(r)));
    if (t <= l.stop)
      api.schedule(t, 0, arg(act_lookup, i));
  }
  auto& cat = api.catalog();
  for (std::uint32_t di = 0; di < spec_.downloads.size(); ++di) {
    auto& d = spec_.downloads[di];
    std::vector<std::uint32_t> files;
    for (std::uint32_t f = 0; f < cat.size(); ++f)
      if (api.spec().file_sets[cat.at(f).set].name == d.files)
        files.push_back(f);
    files_of_spec_.push_back(std::move(files));
    auto [first, last] = api.group_nodes(d.group);
    downloads_per_node_.emplace_back(last - first, 0);
    for (auto n = first; n < last; ++n) {
      time_us t = later(d.start, delay_us(d.interval.sample(r)));
      if (t <= d.stop)
        api.schedule(t, n, arg(act_download, di));
    }
  }
  if (spec_.replication.interval > 0)
    api.schedule(spec_.replication.interval, 0, arg(act_sample, 0));
}

// -- ticks --------------------------------------------------------------------

void driver::tick(sim_api& api, std::uint32_t node, std::uint64_t a) {
  auto payload = a & payload_mask;
  switch (static_cast<action>(a >> 56)) {
  case act_bootstrap: {
    if (!api.online(node))
      return;
    // Up to `peers` distinct bootstrap nodes other than this one.
    std::vector<std::uint32_t> pool;
    for (auto b = boot_.first; b < boot_.second; ++b)
      if (b != node)
        pool.push_back(b);
    auto want = std::min<std::size_t>(spec_.bootstrap.peers, pool.size());
    std::vector<std::string> args;
    for (std::size_t i = 0; i < want; ++i) {
      std::swap(pool[i], pool[i + api.workload_rng().below(pool.size() - i)]);
      args.push_back(api.peer_arg(pool[i]));
    }
    if (api.issue_command(node, "kad", "bootstrap", std::move(args)) != 0) {
      ++bootstraps_;
      api.count("dht.bootstraps", 1, api.group_of(node));
    }
    return;
  }
  case act_provide:
    return issue_provide(api, static_cast<std::uint32_t>(payload >> 16),
                         static_cast<std::uint32_t>(payload & 0xffff));
  case act_lookup:
    return run_lookup(api, static_cast<std::uint32_t>(payload));
  case act_download:
    return run_download(api, node, static_cast<std::uint32_t>(payload));
  case act_sample:
    sample_replication(api);
    if (api.now() + spec_.replication.interval <= api.end_time())
      api.schedule(api.now() + spec_.replication.interval, 0, arg(act_sample, 0));
    return;
  }
}

void driver::issue_provide(sim_api& api, std::uint32_t rec, std::uint32_t pos) {
  auto& r = records_[rec];
  auto node = r.providers[pos];
  if (api.issue_command(node, "kad", "provide", {r.hex}) == 0) {
    pending_provides_.insert({node, rec}); // offline: provide once it has bootstrapped again
    return;
  }
  api.count("dht.provides_issued", 1, api.group_of(node));
}

void driver::run_lookup(sim_api& api, std::uint32_t stream) {
  auto& l = spec_.lookups[stream];
  auto& r = api.workload_rng();
  ++lookups_run_[stream];
  auto& st = l.verb == lookup_verb::find_providers ? providers_ : nodes_;
  auto [first, last] = api.group_nodes(l.group);
  std::uint32_t node = last;
  std::vector<std::string> args;
  std::uint32_t item = 0;
  if (l.verb == lookup_verb::find_node) {
    node = random_online(api, first, last);
    kad::kad_id target;
    for (auto& b : target)
      b = static_cast<std::uint8_t>(r.next());
    args = {to_hex(target)};
  } else if (!announced_records_.empty()) {
    // A record that has been stored at least once, looked up by a node that
    // does not provide it itself.
    item = announced_records_[r.below(announced_records_.size())];
    auto& rec = records_[item];
    for (int i = 0; i < pick_attempts && node == last; ++i) {
      node = random_online(api, first, last);
      if (std::find(rec.providers.begin(), rec.providers.end(), node) != rec.providers.end())
        node = last;
    }
    args = {rec.hex, std::to_string(l.want)};
  } else {
    api.count("dht.lookups_without_records", 1, 0);
  }
  if (node < last) {
    auto verb = l.verb == lookup_verb::find_node ? "find_node" : "find_providers";
    if (auto id = api.issue_command(node, "kad", verb, std::move(args))) {
      open_[id] = {node, l.verb, purpose::lookup, item, 0, api.now()};
      ++st.issued;
      api.count(l.verb == lookup_verb::find_node ? "dht.find_node.issued"
                                                 : "dht.find_providers.issued",
                1, api.group_of(node));
    }
  } else if (!announced_records_.empty() || l.verb == lookup_verb::find_node) {
    ++st.skipped_offline;
  }
  time_us next = later(api.now(), delay_us(l.interval.sample(r)));
  if ((l.count == 0 || lookups_run_[stream] < l.count) && next <= l.stop)
    api.schedule(next, 0, arg(act_lookup, stream));
}

void driver::run_download(sim_api& api, std::uint32_t node, std::uint32_t di) {
  auto& d = spec_.downloads[di];
  auto& r = api.workload_rng();
  auto first = api.group_nodes(d.group).first;
  auto& issued = downloads_per_node_[di][node - first];
  auto& cat = api.catalog();
  if (api.online(node)) {
    std::vector<std::uint32_t> candidates;
    for (auto f : files_of_spec_[di]) {
      auto& holders = cat.at(f).holders;
      if (!std::binary_search(holders.begin(), holders.end(), node) && !fetched_.count({node, f}) &&
          !busy_.count({node, f}))
        candidates.push_back(f);
    }
    if (!candidates.empty()) {
      // The user-level command a live node's user issues: the client role
      // finds providers in the DHT and downloads from them.
      auto f = candidates[r.below(candidates.size())];
      auto id = api.issue_command(node, "client", "fetch", {to_hex(cat.at(f).hash)});
      if (id != 0) {
        open_[id] = {node, lookup_verb::find_providers, purpose::download, f, di, api.now()};
        busy_.insert({node, f});
        ++download_lookups_.issued;
        ++issued;
      }
    }
  } else {
    ++download_lookups_.skipped_offline;
  }
  time_us next = later(api.now(), delay_us(d.interval.sample(r)));
  if (issued < d.max_per_node && next <= d.stop)
    api.schedule(next, node, arg(act_download, di));
}

// -- events -------------------------------------------------------------------

void driver::on_event(sim_api& api, std::uint32_t node, const event& e) {
  if (e.command_id != 0) {
    if (auto it = open_.find(e.command_id); it != open_.end() && it->second.node == node) {
      const bool fetch = it->second.why == purpose::download;
      const bool ends = fetch ? e.kind == "fetch_done" || e.kind == "fetch_failed"
                              : e.kind == "providers_found" || e.kind == "lookup_done";
      if (ends || e.kind == "command_failed") {
        auto ol = it->second;
        open_.erase(it);
        return fetch ? fetch_ended(api, ol, e) : lookup_ended(api, node, ol, e);
      }
    }
  }
  if (e.kind == "put_done" || e.kind == "put_failed") {
    bool ok = e.kind == "put_done";
    ++(ok ? puts_done_ : puts_failed_);
    api.count(ok ? "dht.puts_done" : "dht.puts_failed", 1, api.group_of(node));
    if (!ok)
      return;
    auto* hex = e.field("key");
    auto key = hex ? digest_from_hex(*hex) : std::nullopt;
    auto rec = key ? record_of_key_.find(*key) : record_of_key_.end();
    auto mine = provides_of_node_.find(node);
    if (rec == record_of_key_.end() || mine == provides_of_node_.end())
      return;
    for (auto [ri, pos] : mine->second)
      if (ri == rec->second) {
        auto& r = records_[ri];
        if (r.announced[pos] < 0)
          r.announced[pos] = api.now(); // stored while its provider is up (this session)
        if (!r.issued) {
          r.issued = true;
          announced_records_.push_back(ri);
        }
      }
    return;
  }
  if (e.kind == "bootstrap_done") {
    // Provides that could not be issued while the node was down.
    for (auto it = pending_provides_.lower_bound({node, 0});
         it != pending_provides_.end() && it->first == node;) {
      auto rec = it->second;
      it = pending_provides_.erase(it);
      for (auto [ri, pos] : provides_of_node_[node])
        if (ri == rec)
          issue_provide(api, ri, pos);
    }
  }
}

bool driver::record_online(const record& r, time_us since) const {
  for (auto a : r.announced)
    if (a >= 0 && a <= since)
      return true;
  return false;
}

void driver::lookup_ended(sim_api& api, std::uint32_t node, const open_lookup& ol, const event& e) {
  bool providers = ol.verb == lookup_verb::find_providers;
  auto& st = providers ? providers_ : nodes_;
  auto g = api.group_of(node);
  ++st.ended;
  api.count(providers ? "dht.find_providers.ended" : "dht.find_node.ended", 1, g);
  bool success = false;
  if (e.kind == "command_failed") {
    ++st.rejected;
  } else {
    success = e.value("success") == 1;
    double hops = e.value("hops"), messages = e.value("messages");
    double ms = e.value("duration_us") / 1000.0;
    st.hops.add(hops, samples_rng_);
    st.messages.add(messages, samples_rng_);
    st.latency_ms.add(ms, samples_rng_);
    if (providers) {
      api.observe("dht.find_providers.hops", hops, g);
      api.observe("dht.find_providers.messages", messages, g);
      api.observe("dht.find_providers.latency_ms", ms, g);
    } else {
      api.observe("dht.find_node.hops", hops, g);
      api.observe("dht.find_node.messages", messages, g);
      api.observe("dht.find_node.latency_ms", ms, g);
    }
  }
  if (success) {
    ++st.succeeded;
    api.count(providers ? "dht.find_providers.succeeded" : "dht.find_node.succeeded", 1, g);
  }
  if (providers && record_online(records_[ol.item], ol.started)) {
    // The record's provider stored it before the lookup began and stayed up.
    ++online_.ended;
    api.count("dht.find_providers.provider_online", 1, g);
    if (success) {
      ++online_.succeeded;
      api.count("dht.find_providers.provider_online_found", 1, g);
    }
    if (e.kind != "command_failed") {
      online_.hops.add(e.value("hops"), samples_rng_);
      online_.messages.add(e.value("messages"), samples_rng_);
      online_.latency_ms.add(e.value("duration_us") / 1000.0, samples_rng_);
    }
  }
}

// A fetch reports the figures of its last DHT lookup (client.hpp); a fetch
// that found providers then started a download.
void driver::fetch_ended(sim_api& api, const open_lookup& ol, const event& e) {
  auto& st = download_lookups_;
  auto g = api.group_of(ol.node);
  busy_.erase({ol.node, ol.item});
  if (e.kind == "fetch_done")
    fetched_.insert({ol.node, ol.item});
  if (e.kind == "command_failed") {
    ++st.ended;
    ++st.rejected;
    api.count("dht.download_lookup.ended", 1, g);
    return;
  }
  if (e.value("lookups") == 0)
    return; // never looked up (the node's kad refused, or a join never ended)
  ++st.ended;
  api.count("dht.download_lookup.ended", 1, g);
  double hops = e.value("lookup_hops"), ms = e.value("lookup_us") / 1000.0;
  st.hops.add(hops, samples_rng_);
  st.messages.add(e.value("lookup_messages"), samples_rng_);
  st.latency_ms.add(ms, samples_rng_);
  api.observe("dht.download_lookup.hops", hops, g);
  api.observe("dht.download_lookup.latency_ms", ms, g);
  if (e.value("lookup_found") > 0) {
    ++st.succeeded;
    api.count("dht.download_lookup.succeeded", 1, g);
    ++downloads_issued_;
    api.count("dht.downloads_issued", 1, g);
  } else {
    ++downloads_no_providers_;
    api.count("dht.downloads_without_providers", 1, g);
  }
}

void driver::on_node_up(sim_api& api, std::uint32_t node) {
  if (is_kad(node))
    api.schedule(api.now() + spec_.bootstrap.delay, node, arg(act_bootstrap, 0));
}

void driver::on_node_down(sim_api& api, std::uint32_t node, bool) {
  if (auto it = provides_of_node_.find(node); it != provides_of_node_.end())
    for (auto [ri, pos] : it->second)
      records_[ri].announced[pos] = -1;
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.node != node) {
      ++it;
      continue;
    }
    auto& ol = it->second;
    auto& st = ol.why == purpose::download              ? download_lookups_
               : ol.verb == lookup_verb::find_providers ? providers_
                                                        : nodes_;
    ++st.interrupted;
    api.count("dht.lookups_interrupted", 1, api.group_of(node));
    if (ol.why == purpose::download)
      busy_.erase({node, ol.item});
    it = open_.erase(it);
  }
}

// -- replication --------------------------------------------------------------

void driver::sample_replication(sim_api& api) {
  std::size_t n = std::min<std::size_t>(spec_.replication.records, announced_records_.size());
  if (n == 0)
    return;
  std::vector<std::pair<const kad::node*, std::uint32_t>> up;
  for (std::uint32_t v = 0; v < api.node_count(); ++v)
    if (api.online(v) && is_kad(v))
      if (auto* r = dynamic_cast<const kad::node*>(api.role_of(v, "kad")))
        up.push_back({r, v});
  replication_sample s;
  s.t = api.now();
  s.min = spec_.k;
  std::vector<std::pair<kad::kad_id, std::uint32_t>> by_distance(up.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto& rec = records_[announced_records_[i]];
    for (std::size_t j = 0; j < up.size(); ++j)
      by_distance[j] = {kad::distance(id_of(up[j].second), rec.key), static_cast<std::uint32_t>(j)};
    auto k = std::min(spec_.k, by_distance.size());
    std::nth_element(by_distance.begin(), by_distance.begin() + static_cast<std::ptrdiff_t>(k),
                     by_distance.end());
    std::uint64_t holders = 0;
    for (std::size_t j = 0; j < k; ++j)
      holders += up[by_distance[j].second].first->records().count(rec.key, api.now()) > 0;
    api.observe("dht.replication.holders", static_cast<double>(holders), 0);
    s.mean += static_cast<double>(holders);
    s.min = std::min(s.min, holders);
    s.max = std::max(s.max, holders);
  }
  s.records = n;
  s.mean /= static_cast<double>(n);
  replication_.push_back(s);
}

// -- registry -----------------------------------------------------------------

driver_kind kind() {
  driver_kind k;
  k.validate = [](const nlohmann::json& item, const std::string& path, const scenario& s) {
    parse_spec(item, path, s);
  };
  k.make = [](const nlohmann::json& item, const scenario& s) -> std::unique_ptr<workload_driver> {
    return std::make_unique<driver>(parse_spec(item, "workload", s), s);
  };
  k.checkers = checker_names();
  return k;
}

} // namespace peerlab::sim::dht
