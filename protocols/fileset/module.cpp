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
  cfg::fields f(p, path);
  config c;
  if (auto* g = cfg::member(p, "gossip")) {
    cfg::require_object(*g, cfg::child(path, "gossip"));
    c.gossip = gossip::config_from_json(*g, cfg::child(path, "gossip"));
  }
  f.text("topic", c.topic);
  f.size("inline_max", c.inline_max);
  f.size("max_file_bytes", c.max_file_bytes);
  f.size("chunk_size", c.chunk_bytes);
  f.count("max_fetches", c.max_fetches);
  f.duration("request_timeout", c.request_timeout);
  f.duration("retry_delay", c.retry_delay);
  f.count("fetch_rounds", c.fetch_rounds);
  f.duration("sync_initial_delay", c.sync_initial_delay);
  f.duration("sync_interval", c.sync_interval);
  f.count("sync_peers", c.sync_peers);
  f.count("manifest_quorum", c.manifest_quorum);
  f.duration("flood_interval", c.flood_interval);
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
