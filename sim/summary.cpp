#include "sim/summary.hpp"

#include "protocols/common/config_fields.hpp"

#include <cstdio>
#include <sstream>

namespace peerlab::sim {

using nlohmann::json;

json summarize(const run_view& sim, double wall_seconds) {
  auto& s = sim.stats();
  json j;
  j["seed"] = sim.seed();
  j["fingerprint"] = sim.fingerprint_hex();
  j["events"] = sim.event_count();
  j["nodes"] = sim.node_count();
  j["virtual_seconds"] = static_cast<double>(sim.end_time()) / 1e6;
  j["wall_seconds"] = wall_seconds;
  j["events_per_second"] = wall_seconds > 0 ? static_cast<double>(s.events) / wall_seconds : 0;
  j["frames"] = {{"sent", s.net.sent},
                 {"delivered", s.net.delivered},
                 {"lost", s.net.lost},
                 {"lost_partition", s.net.lost_partition},
                 {"lost_offline", s.net.lost_offline},
                 {"lost_sender_down", s.net.lost_sender_down},
                 {"truncated", s.net.truncated},
                 {"corrupted", s.net.corrupted},
                 {"duplicated", s.net.duplicated},
                 {"reordered", s.net.reordered},
                 {"rejected_routing", s.net.rejected_routing},
                 {"rejected_by_roles", s.counter("frames_rejected")},
                 {"delivered_bytes", s.net.delivered_bytes}};
  j["churn"] = {{"starts", s.node_starts}, {"crashes", s.crashes}, {"leaves", s.leaves}};
  j["truncated"] = {{"metrics", sim.metrics_truncated()}, {"events", sim.events_truncated()}};
  json counters = json::object();
  for (auto& [name, per_group] : s.counters()) {
    double t = 0;
    for (double v : per_group)
      t += v;
    counters[name] = t;
  }
  j["counters"] = counters;
  json obs = json::object();
  for (auto& [name, smp] : s.observations())
    obs[name] = {{"count", smp.count()},
                 {"p50", smp.quantile(0.5)},
                 {"p90", smp.quantile(0.9)},
                 {"p99", smp.quantile(0.99)}};
  j["observations"] = obs;
  for (std::size_t i = 0; i < sim.driver_count(); ++i)
    sim.driver(i).summarize(sim.driver_api(i), j);
  return j;
}

std::string render_summary(const run_view& sim, const json& j,
                           const std::vector<verdict>& verdicts) {
  std::ostringstream o;
  char buf[512];
  auto& f = j["frames"];
  o << "scenario   " << sim.spec().name << "  (" << j["nodes"].get<std::uint64_t>()
    << " nodes, seed " << j["seed"].get<std::uint64_t>() << ")\n";
  std::snprintf(buf, sizeof buf, "virtual    %s in %.2f s wall  (%.0f events/s, %llu events)\n",
                cfg::format_duration(sim.end_time()).c_str(), j["wall_seconds"].get<double>(),
                j["events_per_second"].get<double>(),
                static_cast<unsigned long long>(j["events"].get<std::uint64_t>()));
  o << buf;
  std::snprintf(
    buf, sizeof buf,
    "frames     %llu sent, %llu delivered, %llu lost (+%llu partition, +%llu to offline nodes, "
    "+%llu queued at nodes that went down)\n"
    "           %llu truncated, %llu corrupted, %llu duplicated, %llu reordered; "
    "rejected: %llu by routing, %.0f by role codecs\n",
    static_cast<unsigned long long>(f["sent"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["delivered"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["lost"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["lost_partition"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["lost_offline"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["lost_sender_down"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["truncated"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["corrupted"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["duplicated"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["reordered"].get<std::uint64_t>()),
    static_cast<unsigned long long>(f["rejected_routing"].get<std::uint64_t>()),
    f["rejected_by_roles"].get<double>());
  o << buf;
  auto& ch = j["churn"];
  if (ch["crashes"].get<std::uint64_t>() + ch["leaves"].get<std::uint64_t>() > 0)
    o << "churn      " << ch["starts"].get<std::uint64_t>() << " node starts, "
      << ch["crashes"].get<std::uint64_t>() << " crashes, " << ch["leaves"].get<std::uint64_t>()
      << " graceful leaves\n";
  for (auto& [name, v] : j["observations"].items()) {
    std::snprintf(buf, sizeof buf, "observed   %-28s n=%llu p50=%.4g p90=%.4g p99=%.4g\n",
                  name.c_str(), static_cast<unsigned long long>(v["count"].get<std::uint64_t>()),
                  v["p50"].get<double>(), v["p90"].get<double>(), v["p99"].get<double>());
    o << buf;
  }
  // Drivers may add a table under their summary key as "text_lines".
  for (auto& [key, part] : j.items())
    if (part.is_object() && part.contains("text_lines") && part["text_lines"].is_array())
      for (auto& line : part["text_lines"])
        o << line.get<std::string>() << "\n";
  for (auto& v : verdicts)
    o << (v.passed ? "check ok   " : "CHECK FAIL ") << v.check << ": " << v.detail << "\n";
  o << "fingerprint " << j["fingerprint"].get<std::string>() << "\n";
  return o.str();
}

} // namespace peerlab::sim
