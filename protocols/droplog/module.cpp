#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/droplog/drop_role.hpp"
#include "protocols/droplog/relay_rows.hpp"
#include "protocols/droplog/state_store.hpp"

namespace peerlab::droplog {

namespace {

using nlohmann::json;

std::shared_ptr<role> droplog_from_json(const json& p, const std::string& path,
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
                  "erasure_coding",
                  "coding_block",
                  "repair_share",
                  "small_message",
                  "small_copies",
                  "serve_http",
                  "max_http_body",
                  "http_timeout",
                  "max_pending_http",
                  "delete_files",
                  "upstream",
                  "impersonate",
                  "forge_interval"});
  cfg::fields f(p, path);
  role_config c;
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
  f.flag("encrypt", s.encrypt);
  f.flag("compress", s.compress);
  if (auto* v = cfg::member(p, "timeouts")) {
    auto m = cfg::get_string(*v, cfg::child(path, "timeouts"));
    if (m != "adaptive" && m != "fixed")
      cfg::fail(cfg::child(path, "timeouts"), "\"adaptive\" or \"fixed\"", *v);
    s.timeouts = m == "fixed" ? timeout_mode::fixed : timeout_mode::adaptive;
  }
  f.duration("fixed_timeout", s.fixed_timeout);
  f.duration("initial_rtt", s.initial_rtt);
  f.duration("min_rto", s.min_rto);
  f.duration("max_rto", s.max_rto);
  f.duration("max_ack_delay", s.max_ack_delay);
  if (auto* v = cfg::member(p, "max_backoff"))
    s.max_backoff = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(cfg::get_count(*v, cfg::child(path, "max_backoff")), 31));
  f.duration("batch_delay", s.batch_delay);
  f.size("min_packet", s.min_packet_bytes);
  f.size("max_packet", s.max_packet_bytes);
  f.size("initial_packet", s.initial_packet_bytes);
  f.flag("adaptive_packet_size", s.adaptive_packet_size);
  f.size("fragment", s.fragment_bytes);
  f.positive("window", s.window_entries);
  f.positive("nack_repeat", s.nack_repeat);
  f.flag("adaptive_repeat", s.adaptive_repeat);
  f.flag("erasure_coding", s.erasure_coding);
  f.positive("coding_block", s.coding_block_entries);
  f.probability("repair_share", s.coding_repair_share);
  f.size("small_message", s.small_message_bytes);
  f.positive("small_copies", s.small_copies_max);
  f.flag("serve_http", c.serve_http);
  f.size("max_http_body", c.max_http_body);
  f.duration("http_timeout", c.http_timeout);
  f.positive("max_pending_http", c.max_pending_http);
  f.flag("delete_files", c.delete_files);
  if (auto* v = cfg::member(p, "upstream")) {
    auto m = cfg::get_string(*v, cfg::child(path, "upstream"));
    if (m != "simulated" && m != "external")
      cfg::fail(cfg::child(path, "upstream"), "\"simulated\" or \"external\"", *v);
    c.external_upstream = m == "external";
  }
  f.count("impersonate", c.impersonate);
  f.duration("forge_interval", c.forge_interval);
  if (adversary == "forge_packets") {
    if (!cfg::member(p, "impersonate"))
      cfg::fail_msg(path,
                    "adversary forge_packets needs \"impersonate\" (the node id it claims to be)");
    c.forge = true;
  }
  if (auto e = validate(c); !e.empty())
    cfg::fail_msg(path, "role droplog: " + e);
  return make_drop_role(std::move(c));
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "droplog",
    "docs/protocols/droplog.md",
    {{ports::droplog, "droplog"}},
    {{"droplog",
      droplog_from_json,
      {"forge_packets"},
      R"({"role": "droplog", "peers": [1], "key": "0123456789abcdef", "impersonate": 1})"}},
    {&sessions_table(), &entries_table(), &unanswered_table()},
  };
  return m;
}

} // namespace peerlab::droplog
