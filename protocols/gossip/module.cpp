#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/gossip/gossip.hpp"

namespace peerlab::gossip {

namespace {

using nlohmann::json;

std::shared_ptr<role> gossip_from_json(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(p, path,
                 {"role", "d", "d_lo", "d_hi", "d_lazy", "d_score", "gossip_factor", "heartbeat",
                  "mcache_len", "mcache_gossip", "seen_ttl", "fanout_ttl", "prune_backoff",
                  "max_message_bytes", "flood", "flood_publish", "scoring", "topics"});
  gossip::config c;
  auto count = [&](const char* key, std::size_t& field) {
    if (auto* v = cfg::member(p, key))
      field = cfg::get_count(*v, cfg::child(path, key));
  };
  auto duration = [&](const char* key, time_us& field) {
    if (auto* v = cfg::member(p, key))
      field = cfg::get_duration(*v, cfg::child(path, key));
  };
  auto flag = [&](const char* key, bool& field) {
    if (auto* v = cfg::member(p, key))
      field = cfg::get_bool(*v, cfg::child(path, key));
  };
  count("d", c.d);
  count("d_lo", c.d_lo);
  count("d_hi", c.d_hi);
  count("d_lazy", c.d_lazy);
  count("d_score", c.d_score);
  count("mcache_len", c.mcache_len);
  count("mcache_gossip", c.mcache_gossip);
  if (auto* v = cfg::member(p, "gossip_factor"))
    c.gossip_factor = cfg::get_probability(*v, cfg::child(path, "gossip_factor"));
  duration("heartbeat", c.heartbeat);
  duration("seen_ttl", c.seen_ttl);
  duration("fanout_ttl", c.fanout_ttl);
  duration("prune_backoff", c.prune_backoff);
  if (auto* v = cfg::member(p, "max_message_bytes"))
    c.max_message_bytes = cfg::get_size(*v, cfg::child(path, "max_message_bytes"));
  flag("flood", c.flood);
  flag("flood_publish", c.flood_publish);
  flag("scoring", c.score.enabled);
  if (auto* v = cfg::member(p, "topics")) {
    cfg::require_array(*v, cfg::child(path, "topics"));
    for (std::size_t i = 0; i < v->size(); ++i)
      c.topics.push_back(cfg::get_string((*v)[i], cfg::index(cfg::child(path, "topics"), i)));
  }
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role gossip: " + e);
  return gossip::make_gossip(c);
}

} // namespace

config config_from_json(const nlohmann::json& p, const std::string& path) {
  auto inner = gossip_from_json(p, path, "");
  return static_cast<gossip_role&>(*inner).cfg();
}

const peerlab::module& module() {
  static const peerlab::module m{
    "gossip",
    "docs/protocols/gossipsub.md",
    {{ports::gossip, "gossip"}},
    {{"gossip", gossip_from_json, {}, R"({"role": "gossip"})"}},
    {},
  };
  return m;
}

} // namespace peerlab::gossip
