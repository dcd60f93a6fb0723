#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/fileset/fileset.hpp"
#include "protocols/fileset/tables.hpp"

namespace peerlab::fileset {

namespace {

using nlohmann::json;

std::shared_ptr<role> fileset_from_json(const json& p, const std::string& path,
                                        const std::string& adversary) {
  cfg::only_keys(p, path,
                 {"role", "gossip", "topic", "inline_max", "max_file_bytes", "chunk_size",
                  "max_fetches", "request_timeout", "retry_delay", "fetch_rounds",
                  "sync_initial_delay", "sync_interval", "sync_peers", "manifest_quorum",
                  "flood_interval"});
  config c;
  if (auto* g = cfg::member(p, "gossip")) {
    cfg::require_object(*g, cfg::child(path, "gossip"));
    c.gossip = gossip::config_from_json(*g, cfg::child(path, "gossip"));
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
  if (auto s = strategy_from_name(adversary))
    c.adversary = *s;
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role fileset: " + e);
  return make_fileset(c);
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "fileset",
    "docs/protocols/fileset.md",
    {{ports::fileset, "fileset"}},
    {{"fileset",
      fileset_from_json,
      {"corrupt_content", "corrupt_proof", "drop_gossip", "flood_invalid"},
      R"({"role": "fileset"})"}},
    {&sets_table(), &files_table(), &leaves_table()},
  };
  return m;
}

} // namespace peerlab::fileset
