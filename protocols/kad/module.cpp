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
                 {"role", "k", "alpha", "request_timeout", "query_timeout", "provider_ttl",
                  "republish_interval", "refresh_interval", "replacement_cache",
                  "max_providers_per_key", "max_records_per_peer", "max_records_total",
                  "max_refresh_cpl"});
  kad::config c;
  auto count = [&](const char* key, auto& field) {
    using T = std::remove_reference_t<decltype(field)>;
    if (auto* v = cfg::member(p, key)) {
      auto n = cfg::get_count(*v, cfg::child(path, key));
      if (n > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        cfg::fail(cfg::child(path, key), "a smaller integer", *v);
      field = static_cast<T>(n);
    }
  };
  auto duration = [&](const char* key, time_us& field) {
    if (auto* v = cfg::member(p, key))
      field = cfg::get_duration(*v, cfg::child(path, key));
  };
  count("k", c.k);
  count("alpha", c.alpha);
  duration("request_timeout", c.request_timeout);
  duration("query_timeout", c.query_timeout);
  duration("provider_ttl", c.provider_ttl);
  duration("republish_interval", c.republish_interval);
  duration("refresh_interval", c.refresh_interval);
  count("replacement_cache", c.replacement_cache);
  count("max_providers_per_key", c.max_providers_per_key);
  count("max_records_per_peer", c.max_records_per_peer);
  count("max_records_total", c.max_records_total);
  count("max_refresh_cpl", c.max_refresh_cpl);
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
