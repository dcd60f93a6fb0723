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
  cfg::fields f(p, path);
  gossip::config c;
  f.count("d", c.d);
  f.count("d_lo", c.d_lo);
  f.count("d_hi", c.d_hi);
  f.count("d_lazy", c.d_lazy);
  f.count("d_score", c.d_score);
  f.count("mcache_len", c.mcache_len);
  f.count("mcache_gossip", c.mcache_gossip);
  f.probability("gossip_factor", c.gossip_factor);
  f.duration("heartbeat", c.heartbeat);
  f.duration("seen_ttl", c.seen_ttl);
  f.duration("fanout_ttl", c.fanout_ttl);
  f.duration("prune_backoff", c.prune_backoff);
  f.size("max_message_bytes", c.max_message_bytes);
  f.flag("flood", c.flood);
  f.flag("flood_publish", c.flood_publish);
  f.flag("scoring", c.score.enabled);
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
