#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/kad/tables.hpp"

#include <limits>

namespace peerlab::kad {

namespace {

using nlohmann::json;

std::shared_ptr<role> kad_from_json(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(p, path,
                 {"role", "k", "alpha", "request_timeout", "min_request_timeout", "min_stall_time",
                  "rtt_peers", "query_timeout", "provider_ttl", "republish_interval",
                  "refresh_interval", "replacement_cache", "max_providers_per_key",
                  "max_records_per_peer", "max_records_total", "max_refresh_cpl"});
  cfg::fields f(p, path);
  kad::config c;
  f.count("k", c.k);
  f.count("alpha", c.alpha);
  f.duration("request_timeout", c.request_timeout);
  f.duration("min_request_timeout", c.min_request_timeout);
  f.duration("min_stall_time", c.min_stall_time);
  f.count("rtt_peers", c.rtt_peers);
  f.duration("query_timeout", c.query_timeout);
  f.duration("provider_ttl", c.provider_ttl);
  f.duration("republish_interval", c.republish_interval);
  f.duration("refresh_interval", c.refresh_interval);
  f.count("replacement_cache", c.replacement_cache);
  f.count("max_providers_per_key", c.max_providers_per_key);
  f.count("max_records_per_peer", c.max_records_per_peer);
  f.count("max_records_total", c.max_records_total);
  f.count("max_refresh_cpl", c.max_refresh_cpl);
  if (auto e = kad::validate(c))
    cfg::fail_msg(path, "role kad: " + *e);
  return kad::make_kad_role(c);
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "kad",
    "docs/protocols/kad.md",
    {{ports::kad, "kad"}},
    {{"kad", kad_from_json, {}, R"({"role": "kad"})"}},
    {&provided_keys_table()},
  };
  return m;
}

} // namespace peerlab::kad
