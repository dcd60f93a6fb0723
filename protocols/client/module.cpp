#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/client/client.hpp"

#include <limits>

namespace peerlab::client {

namespace {

using nlohmann::json;

std::shared_ptr<role> client_from_json(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(p, path, {"role", "wait", "lookup_retry", "max_pending", "want"});
  cfg::fields f(p, path);
  client::config c;
  f.duration("wait", c.wait);
  f.duration("lookup_retry", c.lookup_retry);
  f.positive("max_pending", c.max_pending);
  f.count("want", c.want);
  if (auto e = client::validate(c))
    cfg::fail_msg(path, "role client: " + *e);
  return client::make_client(c);
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "client",
    "docs/protocols/client.md",
    {{ports::client, "client"}},
    {{"client", client_from_json, {}, R"({"role": "client"})"}},
    {},
  };
  return m;
}

} // namespace peerlab::client
