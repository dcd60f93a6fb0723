#include "net/api_config.hpp"

#include "protocols/common/config_fields.hpp"
#include "net/address.hpp"

#include <boost/asio/ip/address.hpp>

namespace peerlab::net {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

fs::path folder(const json& v, const std::string& path, const fs::path& base) {
  auto s = cfg::get_string(v, path);
  if (s.empty())
    cfg::fail(path, "a non-empty folder path", v);
  fs::path p(s);
  return fs::absolute(p.is_absolute() ? p : base / p).lexically_normal();
}

bool is_loopback(const std::string& host) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

} // namespace

api_config parse_api_config(const json& j, const std::string& path, const fs::path& base,
                            const fs::path& data_dir) {
  cfg::require_object(j, path);
  cfg::only_keys(j, path,
                 {"listen", "allow_remote", "provide_dirs", "download_dir", "max_price", "max_fund",
                  "ledger", "ledger_name", "ledger_address", "max_connections", "max_body",
                  "read_timeout", "reply_timeout", "lookup_timeout", "ledger_timeout", "max_list"});
  api_config c;
  c.download_dir = fs::absolute(data_dir / "downloads").lexically_normal();
  auto at = [&](const char* key) { return cfg::child(path, key); };
  if (auto* v = cfg::member(j, "listen")) {
    std::string err;
    auto a = parse_address(cfg::get_string(*v, at("listen")), err);
    if (!a)
      cfg::fail(at("listen"), "\"host:port\" with an IP address (" + err + ")", *v);
    c.listen = to_string(*a);
    bool remote = false;
    if (auto* r = cfg::member(j, "allow_remote"))
      remote = cfg::get_bool(*r, at("allow_remote"));
    if (!is_loopback(a->host) && !remote)
      cfg::fail(at("listen"),
                "a loopback address (the API reads and writes files and moves money; "
                "set \"allow_remote\": true to serve it elsewhere)",
                *v);
  } else if (auto* r = cfg::member(j, "allow_remote")) {
    cfg::get_bool(*r, at("allow_remote"));
  }
  if (auto* v = cfg::member(j, "provide_dirs")) {
    cfg::require_array(*v, at("provide_dirs"));
    for (std::size_t i = 0; i < v->size(); ++i)
      c.provide_dirs.push_back(folder((*v)[i], cfg::index(at("provide_dirs"), i), base));
  }
  if (auto* v = cfg::member(j, "download_dir"))
    c.download_dir = folder(*v, at("download_dir"), base);
  if (auto* v = cfg::member(j, "max_price"))
    c.max_price = cfg::get_count(*v, at("max_price"));
  if (auto* v = cfg::member(j, "max_fund"))
    c.max_fund = cfg::get_positive(*v, at("max_fund"));
  // Amounts travel in JSON numbers: keep them exact in a double.
  constexpr std::uint64_t exact = 1ull << 53;
  if (c.max_price > exact)
    cfg::fail(at("max_price"), "at most 2^53", j["max_price"]);
  if (c.max_fund > exact)
    cfg::fail(at("max_fund"), "at most 2^53", j["max_fund"]);
  // A name proves nothing: the ledger is named by the id its key proves.
  if (cfg::member(j, "ledger_name"))
    cfg::fail_msg(at("ledger_name"), "no longer accepted: give \"ledger\", the ledger node's peer "
                                     "id (`peerlab id --config LEDGER.json` prints it)");
  if (auto* ledger = cfg::member(j, "ledger"))
    c.ledger = cfg::get_positive(*ledger, at("ledger"));
  if (auto* v = cfg::member(j, "ledger_address")) {
    std::string err;
    auto a = parse_address(cfg::get_string(*v, at("ledger_address")), err);
    if (!a || a->port == 0)
      cfg::fail(at("ledger_address"), "\"host:port\" with an IP address and a port", *v);
    if (c.ledger == 0)
      cfg::fail_msg(at("ledger_address"), "needs \"ledger\"");
    c.ledger_address = to_string(*a);
  }
  auto count = [&](const char* key, std::size_t& field, std::size_t most) {
    if (auto* v = cfg::member(j, key)) {
      auto n = cfg::get_positive(*v, at(key));
      if (n > most)
        cfg::fail(at(key), "at most " + std::to_string(most), *v);
      field = static_cast<std::size_t>(n);
    }
  };
  count("max_connections", c.max_connections, 1024);
  count("max_list", c.max_list, 100000);
  if (auto* v = cfg::member(j, "max_body")) {
    auto n = cfg::get_size(*v, at("max_body"));
    if (n < 1024 || n > (16u << 20))
      cfg::fail(at("max_body"), "a size from 1KiB to 16MiB", *v);
    c.max_body = static_cast<std::size_t>(n);
  }
  auto duration = [&](const char* key, time_us& field) {
    if (auto* v = cfg::member(j, key)) {
      field = cfg::get_duration(*v, at(key));
      if (field <= 0 || field > 3600 * us_per_s)
        cfg::fail(at(key), "a positive duration of at most 1h", *v);
    }
  };
  duration("read_timeout", c.read_timeout);
  duration("reply_timeout", c.reply_timeout);
  duration("lookup_timeout", c.lookup_timeout);
  duration("ledger_timeout", c.ledger_timeout);
  return c;
}

} // namespace peerlab::net
