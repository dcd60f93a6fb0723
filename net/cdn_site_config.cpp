#include "net/cdn_site_config.hpp"

#include "net/address.hpp"
#include "protocols/common/config_fields.hpp"

#include <boost/asio/ip/address.hpp>

namespace peerlab::net {

namespace {
using nlohmann::json;
namespace fs = std::filesystem;
} // namespace

cdn_site_config parse_cdn_site_config(const json& j, const std::string& path,
                                      const fs::path& base) {
  cfg::require_object(j, path);
  cfg::only_keys(j, path,
                 {"listen", "allow_remote", "bundle", "scripts", "max_connections", "max_sockets",
                  "max_sockets_per_ip", "queue_bytes", "write_stall", "handshake_timeout",
                  "idle_timeout", "rate", "burst"});
  cdn_site_config c;
  cfg::fields f(j, path);
  if (auto* v = f["listen"]) {
    std::string err;
    auto a = parse_address(cfg::get_string(*v, f.path("listen")), err);
    if (!a)
      cfg::fail(f.path("listen"), "\"host:port\" with an IP address (" + err + ")", *v);
    c.listen = to_string(*a);
    bool remote = false;
    f.flag("allow_remote", remote);
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(a->host, ec);
    if (!remote && (ec || !ip.is_loopback()))
      cfg::fail(f.path("listen"),
                "a loopback address (set \"allow_remote\": true to serve browsers elsewhere)", *v);
  } else {
    bool ignored = false;
    f.flag("allow_remote", ignored);
  }
  if (auto* v = f["bundle"]) {
    auto s = cfg::get_string(*v, f.path("bundle"));
    if (s.empty())
      cfg::fail(f.path("bundle"), "a non-empty folder path", *v);
    fs::path p(s);
    c.bundle = fs::absolute(p.is_absolute() ? p : base / p).lexically_normal();
  }
  if (auto* v = f["scripts"]) {
    auto sp = f.path("scripts");
    cfg::require_array(*v, sp);
    if (v->size() > 16)
      cfg::fail(sp, "at most 16 file names", *v);
    c.scripts.clear();
    for (std::size_t i = 0; i < v->size(); ++i) {
      auto name = cfg::get_string((*v)[i], cfg::index(sp, i));
      if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos ||
          name.size() > 128 || name.find_first_of("\"<>&' \\") != std::string::npos)
        cfg::fail(cfg::index(sp, i), "a file name of the bundle folder (no '/', no quotes)",
                  (*v)[i]);
      c.scripts.push_back(std::move(name));
    }
  }
  auto bounded = [&](const char* key, std::size_t& field, std::size_t most) {
    f.positive(key, field);
    if (field > most)
      cfg::fail(f.path(key), "at most " + std::to_string(most), *f[key]);
  };
  bounded("max_connections", c.max_connections, 65536);
  bounded("max_sockets", c.ws.sockets_max, 1'000'000);
  bounded("max_sockets_per_ip", c.ws.sockets_per_ip_max, 1'000'000);
  if (auto* v = f["queue_bytes"]) {
    auto n = cfg::get_size(*v, f.path("queue_bytes"));
    if (n < cdn_site_limits::message_max || n > (64u << 20))
      cfg::fail(f.path("queue_bytes"), "a size from 16KiB to 64MiB", *v);
    c.ws.queue_bytes_max = static_cast<std::size_t>(n);
  }
  auto duration = [&](const char* key, time_us& field) {
    f.duration(key, field);
    if (f[key] && (field <= 0 || field > 3600 * us_per_s))
      cfg::fail(f.path(key), "a positive duration of at most 1h", *f[key]);
  };
  duration("write_stall", c.ws.write_stall);
  duration("handshake_timeout", c.ws.handshake_timeout);
  duration("idle_timeout", c.ws.idle_timeout);
  f.positive("rate", c.ws.rate);
  f.positive("burst", c.ws.burst);
  c.ws.message_max = cdn_site_limits::message_max;
  return c;
}

} // namespace peerlab::net
