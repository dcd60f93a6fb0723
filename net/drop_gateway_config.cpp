#include "net/drop_gateway_config.hpp"
#include "net/config_text.hpp"
#include "protocols/common/json_depth.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/droplog/httpmsg.hpp"

#include <fstream>
#include <sstream>

namespace peerlab::net {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

address read_address(const json& v, const std::string& path, bool allow_scheme) {
  auto text = cfg::get_string(v, path);
  if (allow_scheme && text.rfind("http://", 0) == 0) {
    text = text.substr(7);
    if (!text.empty() && text.back() == '/')
      text.pop_back();
  }
  std::string err;
  auto a = parse_address(text, err);
  if (!a)
    cfg::fail(path, "\"host:port\" with an IP literal (" + err + ")", v);
  return *a;
}

bool is_loopback(const std::string& host) { return host.rfind("127.", 0) == 0 || host == "::1"; }

} // namespace

drop_gateway_config parse_drop_gateway_config(const json& j, const fs::path& base_dir) {
  cfg::require_object(j, "config");
  cfg::only_keys(j, "config",
                 {"side",
                  "name",
                  "peer",
                  "key",
                  "key_file",
                  "out_dir",
                  "in_dir",
                  "state_db",
                  "listen",
                  "upstream",
                  "request_timeout",
                  "upstream_timeout",
                  "max_body",
                  "max_connections",
                  "max_upstream_in_flight",
                  "poll_interval",
                  "metrics_interval",
                  "run_for",
                  "encrypt",
                  "compress",
                  "timeouts",
                  "min_packet",
                  "max_packet",
                  "initial_packet",
                  "adaptive_packet_size",
                  "fragment",
                  "batch_delay",
                  "max_ack_delay",
                  "initial_rtt",
                  "erasure_coding",
                  "coding_block",
                  "repair_share",
                  "small_message",
                  "small_copies"});
  drop_gateway_config c;
  auto need = [&](const char* k) -> const json& { return cfg::required(j, "config", k); };
  auto side = cfg::get_string(need("side"), "config.side");
  if (side != "a" && side != "b")
    cfg::fail("config.side", "\"a\" (HTTP listener) or \"b\" (performs requests upstream)",
              need("side"));
  c.side = side == "a" ? drop_gateway_config::side_t::a : drop_gateway_config::side_t::b;
  c.name = cfg::get_string(need("name"), "config.name");
  c.peer = cfg::get_string(need("peer"), "config.peer");
  if (c.name.empty() || c.peer.empty() || c.name == c.peer)
    cfg::fail_msg("config", "\"name\" and \"peer\" must be two different non-empty names");
  auto path_of = [&](const char* k) {
    fs::path p = cfg::get_string(need(k), std::string("config.") + k);
    return p.is_absolute() ? p : base_dir / p;
  };
  c.out_dir = path_of("out_dir");
  c.in_dir = path_of("in_dir");
  if (cfg::member(j, "state_db"))
    c.state_db = path_of("state_db");

  auto& s = c.session;
  if (auto* k = cfg::member(j, "key")) {
    s.shared_key = cfg::get_string(*k, "config.key");
  } else if (cfg::member(j, "key_file")) {
    auto file = path_of("key_file");
    std::ifstream in(file, std::ios::binary);
    if (!in)
      cfg::fail_msg("config.key_file", "cannot read " + file.string());
    std::stringstream ss;
    ss << in.rdbuf();
    s.shared_key = ss.str();
  } else {
    cfg::fail_msg("config", "missing \"key\" or \"key_file\" (the shared key, 16 to 1024 bytes)");
  }

  if (c.side == drop_gateway_config::side_t::a) {
    if (auto* v = cfg::member(j, "listen"))
      c.listen = read_address(*v, "config.listen", false);
    if (!is_loopback(c.listen.host))
      cfg::fail_msg(
        "config.listen",
        "the gateway is an unauthenticated proxy: bind a loopback address (127.x.x.x or ::1)");
    if (cfg::member(j, "upstream"))
      cfg::fail_msg("config.upstream", "only side b performs requests upstream");
  } else {
    c.upstream = read_address(need("upstream"), "config.upstream", true);
    if (cfg::member(j, "listen"))
      cfg::fail_msg("config.listen", "only side a listens for HTTP clients");
  }

  auto duration = [&](const char* k, time_us& f) {
    if (auto* v = cfg::member(j, k))
      f = cfg::get_duration(*v, std::string("config.") + k);
  };
  auto positive = [&](const char* k, std::size_t& f) {
    if (auto* v = cfg::member(j, k))
      f = cfg::get_positive(*v, std::string("config.") + k);
  };
  duration("request_timeout", c.request_timeout);
  duration("upstream_timeout", c.upstream_timeout);
  duration("poll_interval", c.poll_interval);
  duration("metrics_interval", c.metrics_interval);
  if (auto* v = cfg::member(j, "run_for"))
    c.run_for = cfg::get_duration(*v, "config.run_for");
  if (auto* v = cfg::member(j, "max_body")) {
    c.max_body = cfg::get_size(*v, "config.max_body");
    if (c.max_body > droplog::http::limits::body_bytes_max)
      cfg::fail("config.max_body",
                "at most " + std::to_string(droplog::http::limits::body_bytes_max >> 20) + "MiB",
                *v);
  }
  positive("max_connections", c.max_connections);
  positive("max_upstream_in_flight", c.max_upstream_in_flight);
  if (c.poll_interval <= 0 || c.request_timeout <= 0 || c.upstream_timeout <= 0)
    cfg::fail_msg("config", "poll_interval, request_timeout and upstream_timeout must be positive");

  auto flag = [&](const char* k, bool& f) {
    if (auto* v = cfg::member(j, k))
      f = cfg::get_bool(*v, std::string("config.") + k);
  };
  flag("encrypt", s.encrypt);
  flag("compress", s.compress);
  flag("adaptive_packet_size", s.adaptive_packet_size);
  flag("erasure_coding", s.erasure_coding);
  if (auto* v = cfg::member(j, "timeouts")) {
    auto m = cfg::get_string(*v, "config.timeouts");
    if (m != "adaptive" && m != "fixed")
      cfg::fail("config.timeouts", "\"adaptive\" or \"fixed\"", *v);
    s.timeouts = m == "fixed" ? droplog::timeout_mode::fixed : droplog::timeout_mode::adaptive;
  }
  auto size = [&](const char* k, auto& f) {
    if (auto* v = cfg::member(j, k))
      f = static_cast<std::remove_reference_t<decltype(f)>>(
        cfg::get_size(*v, std::string("config.") + k));
  };
  size("min_packet", s.min_packet_bytes);
  size("max_packet", s.max_packet_bytes);
  size("initial_packet", s.initial_packet_bytes);
  size("fragment", s.fragment_bytes);
  size("small_message", s.small_message_bytes);
  if (auto* v = cfg::member(j, "coding_block"))
    s.coding_block_entries = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(cfg::get_positive(*v, "config.coding_block"), 1u << 20));
  if (auto* v = cfg::member(j, "repair_share"))
    s.coding_repair_share = cfg::get_probability(*v, "config.repair_share");
  if (auto* v = cfg::member(j, "small_copies"))
    s.small_copies_max = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(cfg::get_positive(*v, "config.small_copies"), 1u << 20));
  duration("batch_delay", s.batch_delay);
  duration("max_ack_delay", s.max_ack_delay);
  duration("initial_rtt", s.initial_rtt);
  // A whole request or response is one log message: the outbox must hold a few.
  s.max_outbox_bytes = std::max<std::uint64_t>(s.max_outbox_bytes, 4 * c.max_body);
  s.local = peer_id_from_name(c.name);
  s.remote = peer_id_from_name(c.peer);
  if (auto e = droplog::validate(s); !e.empty())
    cfg::fail_msg("config", "droplog: " + e);
  return c;
}

drop_gateway_config parse_drop_gateway_config_text(std::string_view text,
                                                   const fs::path& base_dir) {
  return parse_drop_gateway_config(parse_config_text(text), base_dir);
}

drop_gateway_config load_drop_gateway_config(const fs::path& file) {
  std::string text = read_config_file(file);
  try {
    auto base = file.parent_path();
    return parse_drop_gateway_config_text(text, base.empty() ? fs::path(".") : base);
  } catch (const config_error& e) {
    throw config_error(file.string() + ": " + e.what());
  }
}

} // namespace peerlab::net
