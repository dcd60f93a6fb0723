#include "actors/node_roles.hpp"

#include "actors/config/json_fields.hpp"
#include "actors/market_roles.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/client/client.hpp"
#include "protocols/droplog/drop_role.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/fileset/fileset.hpp"
#include "protocols/gossip/gossip.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/traffic/traffic.hpp"

#include <functional>
#include <limits>
#include <map>

namespace peerlab {

namespace {

using nlohmann::json;
using factory = std::function<std::shared_ptr<role>(const json& params, const std::string& path,
                                                    const std::string& adversary)>;

std::shared_ptr<role> provider_role(const json& p, const std::string& path,
                                    const std::string& adversary) {
  cfg::only_keys(p, path, {"role", "chunk_size", "payment"});
  filexfer::provider_config c;
  if (auto* v = cfg::member(p, "chunk_size")) {
    c.chunk_bytes = cfg::get_size(*v, cfg::child(path, "chunk_size"));
    if (c.chunk_bytes == 0 || c.chunk_bytes > limits::chunk_bytes_max)
      cfg::fail(cfg::child(path, "chunk_size"), "a size between 1 B and 1MiB", *v);
  }
  c.gate = market_roles::provider_gate(p, path, c.chunk_bytes);
  if (!adversary.empty()) {
    auto s = filexfer::strategy_from_name(adversary);
    bool payer_cheat = false; // a cheating payer on this node: the provider stays honest
    for (auto& n : market_roles::payer_adversaries())
      payer_cheat = payer_cheat || n == adversary;
    if (!s && !payer_cheat)
      cfg::fail_msg(path, "role provider does not know adversary \"" + adversary + "\"");
    if (s)
      c.strategy = *s;
  }
  return filexfer::make_provider(c);
}

std::shared_ptr<role> downloader_role(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(p, path,
                 {"role", "chunk_size", "window", "windows_in_flight", "request_timeout",
                  "initial_timeout", "min_timeout", "attempts_per_provider", "max_attempts"});
  filexfer::downloader_config c;
  if (auto* v = cfg::member(p, "chunk_size")) {
    c.chunk_bytes = cfg::get_size(*v, cfg::child(path, "chunk_size"));
    if (c.chunk_bytes == 0 || c.chunk_bytes > limits::chunk_bytes_max)
      cfg::fail(cfg::child(path, "chunk_size"), "a size between 1 B and 1MiB", *v);
  }
  if (auto* v = cfg::member(p, "window"))
    c.window_bytes = cfg::get_size(*v, cfg::child(path, "window"));
  if (auto* v = cfg::member(p, "windows_in_flight"))
    c.windows_in_flight = cfg::get_positive(*v, cfg::child(path, "windows_in_flight"));
  if (auto* v = cfg::member(p, "request_timeout"))
    c.request_timeout = cfg::get_duration(*v, cfg::child(path, "request_timeout"));
  // Floors of the adaptive timeout: a paid download waits for confirmations.
  if (auto* v = cfg::member(p, "initial_timeout"))
    c.initial_timeout = cfg::get_duration(*v, cfg::child(path, "initial_timeout"));
  if (auto* v = cfg::member(p, "min_timeout"))
    c.min_timeout = cfg::get_duration(*v, cfg::child(path, "min_timeout"));
  if (auto* v = cfg::member(p, "attempts_per_provider"))
    c.attempts_per_provider = cfg::get_positive(*v, cfg::child(path, "attempts_per_provider"));
  if (auto* v = cfg::member(p, "max_attempts"))
    c.max_attempts = cfg::get_positive(*v, cfg::child(path, "max_attempts"));
  if (c.window_bytes < c.chunk_bytes)
    cfg::fail_msg(path, "window must be at least chunk_size");
  return filexfer::make_downloader(c);
}

std::shared_ptr<role> traffic_role(const json& p, const std::string& path, const std::string&) {
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

std::shared_ptr<role> kad_role(const json& p, const std::string& path, const std::string&) {
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

std::shared_ptr<role> gossip_role(const json& p, const std::string& path, const std::string&) {
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

// The file-set role owns a gossip role: its "gossip" object takes the keys of
// the gossip role and is parsed by the same reader.
std::shared_ptr<role> fileset_role(const json& p, const std::string& path,
                                   const std::string& adversary) {
  cfg::only_keys(p, path,
                 {"role", "gossip", "topic", "inline_max", "max_file_bytes", "chunk_size",
                  "max_fetches", "request_timeout", "retry_delay", "fetch_rounds",
                  "sync_initial_delay", "sync_interval", "sync_peers", "manifest_quorum",
                  "flood_interval"});
  fileset::config c;
  if (auto* g = cfg::member(p, "gossip")) {
    cfg::require_object(*g, cfg::child(path, "gossip"));
    auto inner = gossip_role(*g, cfg::child(path, "gossip"), "");
    c.gossip = static_cast<gossip::gossip_role&>(*inner).cfg();
  }
  if (auto* v = cfg::member(p, "topic"))
    c.topic = cfg::get_string(*v, cfg::child(path, "topic"));
  auto size = [&](const char* key, auto& field) {
    if (auto* v = cfg::member(p, key))
      field = static_cast<std::remove_reference_t<decltype(field)>>(
        std::min<std::uint64_t>(cfg::get_size(*v, cfg::child(path, key)), 1ull << 32));
  };
  auto count = [&](const char* key, std::size_t& field) {
    if (auto* v = cfg::member(p, key))
      field = cfg::get_count(*v, cfg::child(path, key));
  };
  auto duration = [&](const char* key, time_us& field) {
    if (auto* v = cfg::member(p, key))
      field = cfg::get_duration(*v, cfg::child(path, key));
  };
  size("inline_max", c.inline_max);
  size("max_file_bytes", c.max_file_bytes);
  size("chunk_size", c.chunk_bytes);
  count("max_fetches", c.max_fetches);
  duration("request_timeout", c.request_timeout);
  duration("retry_delay", c.retry_delay);
  count("fetch_rounds", c.fetch_rounds);
  duration("sync_initial_delay", c.sync_initial_delay);
  duration("sync_interval", c.sync_interval);
  count("sync_peers", c.sync_peers);
  count("manifest_quorum", c.manifest_quorum);
  duration("flood_interval", c.flood_interval);
  if (!adversary.empty()) {
    auto s = fileset::strategy_from_name(adversary);
    if (!s)
      cfg::fail_msg(path, "role fileset does not know adversary \"" + adversary + "\"");
    c.adversary = *s;
  }
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role fileset: " + e);
  return fileset::make_fileset(c);
}

std::shared_ptr<role> droplog_role(const json& p, const std::string& path,
                                   const std::string& adversary) {
  cfg::only_keys(p, path,
                 {"role",
                  "peers",
                  "key",
                  "encrypt",
                  "compress",
                  "timeouts",
                  "fixed_timeout",
                  "initial_rtt",
                  "min_rto",
                  "max_rto",
                  "max_backoff",
                  "max_ack_delay",
                  "batch_delay",
                  "min_packet",
                  "max_packet",
                  "initial_packet",
                  "adaptive_packet_size",
                  "fragment",
                  "window",
                  "nack_repeat",
                  "adaptive_repeat",
                  "serve_http",
                  "max_http_body",
                  "http_timeout",
                  "max_pending_http",
                  "impersonate",
                  "forge_interval"});
  droplog::role_config c;
  auto& s = c.session;
  auto* peers = cfg::member(p, "peers");
  if (!peers)
    cfg::fail_msg(path, "role droplog needs \"peers\" (node ids it keeps a log with)");
  cfg::require_array(*peers, cfg::child(path, "peers"));
  for (std::size_t i = 0; i < peers->size(); ++i)
    c.peers.push_back(cfg::get_count((*peers)[i], cfg::index(cfg::child(path, "peers"), i)));
  auto* key = cfg::member(p, "key");
  if (!key)
    cfg::fail_msg(path, "role droplog needs \"key\" (the shared key, 16 to 1024 bytes)");
  s.shared_key = cfg::get_string(*key, cfg::child(path, "key"));
  auto flag = [&](const char* k, bool& f) {
    if (auto* v = cfg::member(p, k))
      f = cfg::get_bool(*v, cfg::child(path, k));
  };
  auto duration = [&](const char* k, time_us& f) {
    if (auto* v = cfg::member(p, k))
      f = cfg::get_duration(*v, cfg::child(path, k));
  };
  auto size = [&](const char* k, auto& f) {
    if (auto* v = cfg::member(p, k))
      f = static_cast<std::remove_reference_t<decltype(f)>>(cfg::get_size(*v, cfg::child(path, k)));
  };
  flag("encrypt", s.encrypt);
  flag("compress", s.compress);
  if (auto* v = cfg::member(p, "timeouts")) {
    auto m = cfg::get_string(*v, cfg::child(path, "timeouts"));
    if (m != "adaptive" && m != "fixed")
      cfg::fail(cfg::child(path, "timeouts"), "\"adaptive\" or \"fixed\"", *v);
    s.timeouts = m == "fixed" ? droplog::timeout_mode::fixed : droplog::timeout_mode::adaptive;
  }
  duration("fixed_timeout", s.fixed_timeout);
  duration("initial_rtt", s.initial_rtt);
  duration("min_rto", s.min_rto);
  duration("max_rto", s.max_rto);
  duration("max_ack_delay", s.max_ack_delay);
  if (auto* v = cfg::member(p, "max_backoff"))
    s.max_backoff = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(cfg::get_count(*v, cfg::child(path, "max_backoff")), 31));
  duration("batch_delay", s.batch_delay);
  size("min_packet", s.min_packet_bytes);
  size("max_packet", s.max_packet_bytes);
  size("initial_packet", s.initial_packet_bytes);
  flag("adaptive_packet_size", s.adaptive_packet_size);
  size("fragment", s.fragment_bytes);
  if (auto* v = cfg::member(p, "window"))
    s.window_entries = cfg::get_positive(*v, cfg::child(path, "window"));
  if (auto* v = cfg::member(p, "nack_repeat"))
    s.nack_repeat =
      static_cast<std::uint32_t>(cfg::get_positive(*v, cfg::child(path, "nack_repeat")));
  flag("adaptive_repeat", s.adaptive_repeat);
  flag("serve_http", c.serve_http);
  size("max_http_body", c.max_http_body);
  duration("http_timeout", c.http_timeout);
  if (auto* v = cfg::member(p, "max_pending_http"))
    c.max_pending_http = cfg::get_positive(*v, cfg::child(path, "max_pending_http"));
  if (auto* v = cfg::member(p, "impersonate"))
    c.impersonate = cfg::get_count(*v, cfg::child(path, "impersonate"));
  duration("forge_interval", c.forge_interval);
  if (!adversary.empty()) {
    if (adversary != "forge_packets")
      cfg::fail_msg(path, "role droplog does not know adversary \"" + adversary + "\"");
    if (!cfg::member(p, "impersonate"))
      cfg::fail_msg(path,
                    "adversary forge_packets needs \"impersonate\" (the node id it claims to be)");
    c.forge = true;
  }
  if (auto e = droplog::validate(c); !e.empty())
    cfg::fail_msg(path, "role droplog: " + e);
  return droplog::make_drop_role(std::move(c));
}

// One line per role. Adding a protocol role means adding it here.
std::shared_ptr<role> client_role(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(p, path, {"role", "wait", "lookup_retry", "max_pending"});
  client::config c;
  if (auto* v = cfg::member(p, "wait"))
    c.wait = cfg::get_duration(*v, cfg::child(path, "wait"));
  if (auto* v = cfg::member(p, "lookup_retry"))
    c.lookup_retry = cfg::get_duration(*v, cfg::child(path, "lookup_retry"));
  if (auto* v = cfg::member(p, "max_pending"))
    c.max_pending = cfg::get_positive(*v, cfg::child(path, "max_pending"));
  if (auto e = client::validate(c))
    cfg::fail_msg(path, "role client: " + *e);
  return client::make_client(c);
}

const std::map<std::string, factory>& registry() {
  static const std::map<std::string, factory> r = {
    {"provider", provider_role},
    {"ledger", market_roles::ledger_role},
    {"payment_verifier", market_roles::verifier_role},
    {"payer", market_roles::payer_role},
    {"account", market_roles::account_role},
    {"downloader", downloader_role},
    {"traffic", traffic_role},
    {"kad", kad_role},
    {"gossip", gossip_role},
    {"fileset", fileset_role},
    {"droplog", droplog_role},
    {"client", client_role},
  };
  return r;
}

} // namespace

std::vector<std::string> known_roles() {
  std::vector<std::string> out;
  for (auto& [k, _] : registry())
    out.push_back(k);
  return out;
}

std::vector<std::string> known_adversaries() {
  std::vector<std::string> out = {"corrupt_content", "truncate_content", "silent",
                                  "forge_packets",   "corrupt_proof",    "drop_gossip",
                                  "flood_invalid"};
  for (auto& s : market_roles::payer_adversaries())
    out.push_back(s);
  return out;
}

std::vector<std::shared_ptr<role>> make_roles(const json& spec, const std::string& path,
                                              const std::string& adversary) {
  cfg::require_array(spec, path);
  if (spec.empty())
    cfg::fail(path, "at least one role", spec);
  std::vector<std::shared_ptr<role>> out;
  std::set<port_t> used;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    auto p = cfg::index(path, i);
    const json& item = spec[i];
    std::string name;
    json params = json::object();
    if (item.is_string()) {
      name = item.get<std::string>();
    } else if (item.is_object() && cfg::member(item, "role")) {
      name = cfg::get_string(item["role"], cfg::child(p, "role"));
      params = item;
    } else {
      cfg::fail(p, "a role name or an object with \"role\"", item);
    }
    auto it = registry().find(name);
    if (it == registry().end()) {
      std::string list;
      for (auto& k : known_roles())
        list += (list.empty() ? "" : ", ") + k;
      cfg::fail(p, "one of the roles " + list, item);
    }
    auto r = it->second(params, p, adversary);
    if (!used.insert(r->port()).second)
      cfg::fail_msg(p, "two roles of one node use the same port (" +
                         std::string(port_name(r->port())) + ")");
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace peerlab
