#include "sim/fuzz.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/registry.hpp"
#include "protocols/common/rng.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace peerlab::sim {

using nlohmann::json;
namespace c = peerlab::cfg;

namespace {

const std::vector<std::string> fault_names = {"loss", "duplicate", "reorder", "truncate",
                                              "corrupt"};

// Stream id of the fuzz draws ("fuzz"), so they share nothing with run seeds.
constexpr std::uint64_t fuzz_stream = 0x66757a7a;

enum class unit { probability, duration, count };

double read_value(const json& v, const std::string& path, unit u) {
  switch (u) {
  case unit::probability:
    return c::get_probability(v, path);
  case unit::duration:
    return static_cast<double>(c::get_duration(v, path));
  case unit::count:
    return static_cast<double>(c::get_count(v, path));
  }
  return 0;
}

// A range is [lo, hi] or one value (a fixed parameter).
fuzz_range read_range(const json& v, const std::string& path, unit u) {
  if (!v.is_array())
    return {read_value(v, path, u), read_value(v, path, u)};
  if (v.size() != 2)
    c::fail(path, "a value or a range [low, high]", v);
  fuzz_range r{read_value(v[0], c::index(path, 0), u), read_value(v[1], c::index(path, 1), u)};
  if (r.hi < r.lo)
    c::fail_msg(path, "the high end " + c::show(v[1]) + " is below the low end " + c::show(v[0]));
  return r;
}

std::vector<std::string> read_groups(const json& v, const std::string& path, const scenario& s) {
  c::require_array(v, path);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto n = c::get_string(v[i], c::index(path, i));
    if (!s.find_group(n))
      c::fail(c::index(path, i), "the name of a group", v[i]);
    out.push_back(n);
  }
  return out;
}

std::vector<std::string> all_groups(const scenario& s) {
  std::vector<std::string> out;
  for (auto& g : s.groups)
    out.push_back(g.name);
  return out;
}

fuzz_spec defaults_for(const scenario& s) {
  fuzz_spec f;
  for (auto& name : default_invariants())
    for (auto& ck : s.checkers)
      if (ck.check == name &&
          std::find(f.invariants.begin(), f.invariants.end(), name) == f.invariants.end())
        f.invariants.push_back(name);
  f.faults = {{"loss", {0, 0.05}},
              {"duplicate", {0, 0.02}},
              {"reorder", {0, 0.05}},
              {"truncate", {0, 0.02}},
              {"corrupt", {0, 0.01}}};
  auto d = static_cast<double>(s.duration);
  f.partition_count = {0, 2};
  f.partition_length = {d / 20, d / 4};
  f.partition_groups = all_groups(s);
  f.churn_groups = all_groups(s);
  f.churn_chance = 0.3;
  f.churn_session = {d / 10, d};
  f.churn_downtime = {d / 50, d / 10};
  f.churn_crash = {0, 1};
  return f;
}

// Parses the section onto the defaults; `s` must already hold groups and checkers.
fuzz_spec parse(const json& v, const std::string& path, const scenario& s) {
  fuzz_spec f = defaults_for(s);
  c::only_keys(v, path, {"invariants", "faults", "partitions", "churn", "adversaries"});
  if (auto* inv = c::member(v, "invariants")) {
    auto p = c::child(path, "invariants");
    c::require_array(*inv, p);
    f.invariants.clear();
    for (std::size_t i = 0; i < inv->size(); ++i) {
      auto name = c::get_string((*inv)[i], c::index(p, i));
      bool present = false;
      for (auto& ck : s.checkers)
        present = present || ck.check == name;
      if (!present)
        c::fail(c::index(p, i), "the check of one of the scenario's checkers", (*inv)[i]);
      f.invariants.push_back(name);
    }
  }
  if (auto* fa = c::member(v, "faults")) {
    auto p = c::child(path, "faults");
    c::only_keys(*fa, p, {"loss", "duplicate", "reorder", "truncate", "corrupt"});
    f.faults.clear();
    for (auto& name : fault_names)
      if (auto* m = c::member(*fa, name))
        f.faults[name] = read_range(*m, c::child(p, name), unit::probability);
  }
  if (auto* pa = c::member(v, "partitions")) {
    auto p = c::child(path, "partitions");
    c::only_keys(*pa, p, {"count", "length", "groups"});
    if (auto* m = c::member(*pa, "count")) {
      f.partition_count = read_range(*m, c::child(p, "count"), unit::count);
      if (f.partition_count.hi > 64)
        c::fail(c::child(p, "count"), "at most 64 partitions", *m);
    }
    if (auto* m = c::member(*pa, "length")) {
      f.partition_length = read_range(*m, c::child(p, "length"), unit::duration);
      if (f.partition_length.lo <= 0)
        c::fail(c::child(p, "length"), "positive durations", *m);
    }
    if (auto* m = c::member(*pa, "groups"))
      f.partition_groups = read_groups(*m, c::child(p, "groups"), s);
  }
  if (auto* ch = c::member(v, "churn")) {
    auto p = c::child(path, "churn");
    c::only_keys(*ch, p, {"groups", "chance", "session", "downtime", "crash"});
    if (auto* m = c::member(*ch, "groups"))
      f.churn_groups = read_groups(*m, c::child(p, "groups"), s);
    if (auto* m = c::member(*ch, "chance"))
      f.churn_chance = c::get_probability(*m, c::child(p, "chance"));
    if (auto* m = c::member(*ch, "session")) {
      f.churn_session = read_range(*m, c::child(p, "session"), unit::duration);
      if (f.churn_session.lo <= 0)
        c::fail(c::child(p, "session"), "positive durations", *m);
    }
    if (auto* m = c::member(*ch, "downtime"))
      f.churn_downtime = read_range(*m, c::child(p, "downtime"), unit::duration);
    if (auto* m = c::member(*ch, "crash"))
      f.churn_crash = read_range(*m, c::child(p, "crash"), unit::probability);
  }
  if (auto* ad = c::member(v, "adversaries")) {
    auto p = c::child(path, "adversaries");
    c::require_object(*ad, p);
    for (auto it = ad->begin(); it != ad->end(); ++it) {
      auto gp = c::child(p, it.key());
      auto* g = s.find_group(it.key());
      if (!g)
        c::fail_msg(gp, "no group \"" + it.key() + "\" in the scenario");
      c::require_array(*it, gp);
      if (it->empty())
        c::fail(gp, "at least one adversary (or \"honest\")", *it);
      auto& list = f.adversaries[it.key()];
      for (std::size_t i = 0; i < it->size(); ++i) {
        auto ip = c::index(gp, i);
        auto name = c::get_string((*it)[i], ip);
        if (name != "honest") {
          auto known = known_adversaries();
          if (std::find(known.begin(), known.end(), name) == known.end())
            c::fail(ip, "\"honest\" or a known adversary", (*it)[i]);
          try {
            make_roles(g->roles, c::child(gp, "roles"), name);
          } catch (const config_error& e) {
            c::fail_msg(ip,
                        "the group's roles do not take this adversary: " + std::string(e.what()));
          }
        }
        list.push_back(name);
      }
    }
  }
  return f;
}

double pick(rng& r, const fuzz_range& range) { return r.uniform(range.lo, range.hi); }

std::string as_duration(double us) {
  return std::to_string(static_cast<std::int64_t>(std::max(1.0, std::round(us)))) + "us";
}

double round_probability(double p) { return std::round(p * 1e6) / 1e6; }

} // namespace

const std::vector<std::string>& default_invariants() {
  static const std::vector<std::string> names = {"no_corrupt_accepted",
                                                 "downloads_end",
                                                 "dht_lookups_end",
                                                 "droplog_no_forgery",
                                                 "fileset_no_corrupt_accepted",
                                                 "market_payments_recognised",
                                                 "market_exposure_bound",
                                                 "ledger_conservation",
                                                 "market_payers_not_overcharged"};
  return names;
}

void validate_fuzz(const json& v, const std::string& path, const scenario& s) {
  c::require_object(v, path);
  parse(v, path, s);
}

fuzz_spec fuzz_spec_of(const scenario& s) {
  if (s.fuzz.is_null())
    return defaults_for(s);
  return parse(s.fuzz, "fuzz", s);
}

json draw_scenario(const json& doc, const scenario& s, const fuzz_spec& f, std::uint64_t fuzz_seed,
                   std::uint64_t index) {
  rng r(derive_seed(fuzz_seed, fuzz_stream, index));
  json out = doc;
  out["seed"] = r.next() >> 16; // 48 bits: short enough to read and type
  out["name"] = doc.value("name", std::string("scenario")) + " (fuzz seed " +
                std::to_string(fuzz_seed) + " run " + std::to_string(index) + ")";
  // Faults: each switched on with probability 1/2, then a rate from its range.
  json& net = out["network"];
  if (!net.is_object())
    net = json::object();
  json faults = net.contains("faults") ? net["faults"] : json::object();
  for (auto& name : fault_names) {
    auto it = f.faults.find(name);
    bool on = r.chance(0.5); // always drawn, so adding a range shifts nothing else
    double rate = it == f.faults.end() ? 0 : round_probability(pick(r, it->second));
    if (it != f.faults.end())
      faults[name] = on ? rate : 0.0;
  }
  net["faults"] = faults;
  // Partitions between two distinct groups (or one group with itself when it is alone).
  auto nparts = static_cast<std::uint64_t>(
    std::floor(pick(r, {f.partition_count.lo, f.partition_count.hi + 1 - 1e-9})));
  auto d = static_cast<double>(s.duration);
  for (std::uint64_t i = 0; i < nparts && !f.partition_groups.empty(); ++i) {
    auto& groups = f.partition_groups;
    auto a = r.below(groups.size());
    auto b = groups.size() > 1 ? (a + 1 + r.below(groups.size() - 1)) % groups.size() : a;
    double len = std::min(pick(r, f.partition_length), d);
    double from = r.uniform(0, std::max(0.0, d - len));
    static const char* dirs[] = {"both", "a_to_b", "b_to_a"};
    net["partitions"].push_back({{"between", {groups[a], groups[b]}},
                                 {"from", as_duration(from)},
                                 {"until", as_duration(from + len)},
                                 {"direction", dirs[r.below(3)]}});
  }
  // Churn for groups that do not churn already.
  std::set<std::string> churning;
  for (auto& cs : s.churn)
    churning.insert(cs.group);
  for (auto& g : f.churn_groups) {
    bool on = r.chance(f.churn_chance);
    double session = pick(r, f.churn_session), downtime = pick(r, f.churn_downtime);
    double crash = round_probability(pick(r, f.churn_crash));
    if (!on || churning.count(g))
      continue;
    out["churn"].push_back({{"group", g},
                            {"session", {{"dist", "exponential"}, {"mean", as_duration(session)}}},
                            {"downtime", as_duration(downtime)},
                            {"crash", crash}});
  }
  // Adversary mix.
  for (auto& [group, choices] : f.adversaries) {
    auto& choice = choices[r.below(choices.size())];
    for (auto& g : out["groups"])
      if (g.value("name", std::string()) == group) {
        if (choice == "honest")
          g.erase("adversary");
        else
          g["adversary"] = choice;
      }
  }
  return out;
}

std::vector<shrink_candidate> shrink_candidates(const json& doc) {
  std::vector<shrink_candidate> out;
  auto add = [&](json d, std::string what) { out.push_back({std::move(d), std::move(what)}); };
  if (doc.contains("network") && doc["network"].contains("partitions")) {
    auto& parts = doc["network"]["partitions"];
    for (std::size_t i = 0; i < parts.size(); ++i) {
      json d = doc;
      d["network"]["partitions"].erase(i);
      add(d, "partition " + std::to_string(i) + " removed");
    }
  }
  if (doc.contains("churn")) {
    for (std::size_t i = 0; i < doc["churn"].size(); ++i) {
      json d = doc;
      d["churn"].erase(i);
      add(d, "churn of " + doc["churn"][i].value("group", std::string("?")) + " removed");
    }
  }
  if (doc.contains("network") && doc["network"].contains("faults"))
    for (auto& name : fault_names) {
      auto& fa = doc["network"]["faults"];
      if (fa.contains(name) && fa[name].is_number() && fa[name].get<double>() > 0) {
        json d = doc;
        d["network"]["faults"][name] = 0.0;
        add(d, name + " set to 0");
      }
    }
  if (doc.contains("groups"))
    for (std::size_t i = 0; i < doc["groups"].size(); ++i)
      if (doc["groups"][i].contains("adversary")) {
        json d = doc;
        d["groups"][i].erase("adversary");
        add(d, "adversary of group " + std::to_string(i) + " removed");
      }
  if (doc.contains("groups"))
    for (std::size_t i = 0; i < doc["groups"].size(); ++i) {
      auto& g = doc["groups"][i];
      if (g.contains("count") && g["count"].is_number_integer() &&
          g["count"].get<std::int64_t>() > 1) {
        json d = doc;
        auto n = g["count"].get<std::uint64_t>();
        d["groups"][i]["count"] = n / 2;
        add(d, "group " + g.value("name", std::string("?")) + " " + std::to_string(n) + " -> " +
                 std::to_string(n / 2) + " nodes");
      }
    }
  if (doc.contains("duration")) {
    try {
      auto t = c::get_duration(doc["duration"], "duration");
      if (t >= 2 * us_per_s) {
        json d = doc;
        d["duration"] = as_duration(static_cast<double>(t / 2));
        add(d, "duration " + c::format_duration(t) + " -> " + c::format_duration(t / 2));
      }
    } catch (const config_error&) {
    }
  }
  return out;
}

} // namespace peerlab::sim
