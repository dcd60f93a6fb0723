#include "protocols/common/config_fields.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/module.hpp"
#include "protocols/traffic/traffic.hpp"

#include <limits>

namespace peerlab::traffic {

namespace {

using nlohmann::json;

std::shared_ptr<role> traffic_from_json(const json& p, const std::string& path,
                                        const std::string&) {
  cfg::only_keys(p, path, {"role", "peers", "in_flight", "size", "ttl"});
  traffic::config c;
  auto* peers = cfg::member(p, "peers");
  if (!peers)
    cfg::fail_msg(path, "role traffic needs \"peers\" (how many node ids to send to)");
  c.peers = cfg::get_positive(*peers, cfg::child(path, "peers"));
  if (auto* v = cfg::member(p, "in_flight"))
    c.in_flight = static_cast<std::uint32_t>(cfg::get_count(*v, cfg::child(path, "in_flight")));
  if (auto* v = cfg::member(p, "size")) {
    auto sz = cfg::get_size(*v, cfg::child(path, "size"));
    if (sz < 10 || sz > limits::frame_bytes_max)
      cfg::fail(cfg::child(path, "size"), "a size between 10 B and 4MiB", *v);
    c.size = static_cast<std::uint32_t>(sz);
  }
  if (auto* v = cfg::member(p, "ttl"))
    c.ttl = static_cast<std::uint32_t>(cfg::get_count(*v, cfg::child(path, "ttl")));
  return traffic::make_traffic(c);
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "traffic",
    "docs/protocols/traffic.md",
    {{ports::traffic, "traffic"}},
    {{"traffic", traffic_from_json, {}, R"({"role": "traffic", "peers": 4})"}},
    {},
  };
  return m;
}

} // namespace peerlab::traffic
