#include "protocols/proxy/commands.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/text.hpp"
#include "protocols/proxy/proxy.hpp"

namespace peerlab::proxy {

void provide_proxy::describe(std::string& out) const {
  describe_arg(out, start ? "start" : "stop");
  if (!start)
    return;
  describe_arg(out, fee_per_kb);
  if (!address.empty())
    describe_arg(out, address);
}

void open_session::describe(std::string& out) const {
  if (provider == 0)
    describe_arg(out, "best");
  else
    describe_arg(out, provider);
}

void metered::describe(std::string& out) const {
  describe_arg(out, client_id);
  describe_arg(out, up);
  describe_arg(out, down);
}

void stalled::describe(std::string& out) const { describe_arg(out, client_id); }

void fetch::describe(std::string& out) const {
  describe_arg(out, request);
  describe_arg(out, response);
}

void provider_failed::describe(std::string& out) const {
  describe_arg(out, client_id);
  if (!why.empty())
    describe_arg(out, why);
}

void authorize::describe(std::string& out) const {
  describe_arg(out, to_hex(byte_view{token.data(), token.size()}));
}

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& a,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  if (a.size() > limits::command_args_max)
    return bad("too many arguments (at most " + std::to_string(limits::command_args_max) + ")");
  auto no_args = [&](command c) -> std::optional<command> {
    if (!a.empty())
      return bad(std::string(verb) + " takes no arguments");
    return c;
  };
  if (verb == list_providers::verb)
    return no_args(list_providers{});
  if (verb == close_session::verb)
    return no_args(close_session{});
  if (verb == usage::verb)
    return no_args(usage{});
  if (verb == provide_proxy::verb) {
    if (a.size() == 1 && a[0] == "stop")
      return provide_proxy{false, 0, {}};
    if (a.size() < 2 || a.size() > 3 || a[0] != "start")
      return bad("provide_proxy needs \"start FEE_PER_KB [HOST:PORT]\" or \"stop\"");
    auto fee = parse_u64(a[1]);
    if (!fee || *fee == 0)
      return bad("provide_proxy: the fee per KB must be a positive integer, got \"" +
                 quote_arg(a[1], 40) + "\"");
    std::string addr = a.size() == 3 ? a[2] : std::string();
    if (addr.size() > bounds::address_max || (!addr.empty() && addr.find(':') == std::string::npos))
      return bad("provide_proxy: the address must be HOST:PORT of at most " +
                 std::to_string(bounds::address_max) + " bytes");
    return provide_proxy{true, *fee, addr};
  }
  if (verb == open_session::verb) {
    if (a.size() != 1)
      return bad("proxy_open needs \"best\" or a provider's node id");
    if (a[0] == "best")
      return open_session{0};
    auto p = parse_u64(a[0]);
    if (!p || *p == 0)
      return bad("proxy_open: \"" + quote_arg(a[0], 40) + "\" is neither best nor a node id");
    return open_session{*p};
  }
  if (verb == metered::verb) {
    if (a.size() != 3)
      return bad("metered needs CLIENT_ID UP_BYTES DOWN_BYTES");
    auto id = parse_u64(a[0]), up = parse_u64(a[1]), down = parse_u64(a[2]);
    if (!id || !up || !down)
      return bad("metered: CLIENT_ID, UP_BYTES and DOWN_BYTES must be decimal integers");
    return metered{*id, *up, *down};
  }
  if (verb == stalled::verb) {
    auto id = a.size() == 1 ? parse_u64(a[0]) : std::nullopt;
    if (!id)
      return bad("proxy_stalled needs CLIENT_ID (a decimal integer)");
    return stalled{*id};
  }
  if (verb == fetch::verb) {
    if (a.size() != 2)
      return bad("proxy_fetch needs REQUEST_BYTES RESPONSE_BYTES");
    auto req = parse_u64(a[0]), resp = parse_u64(a[1]);
    if (!req || !resp || *req == 0 || *req > bounds::data_payload_max)
      return bad("proxy_fetch: REQUEST_BYTES must be 1.." +
                 std::to_string(bounds::data_payload_max));
    if (*resp > bounds::response_bytes_max)
      return bad("proxy_fetch: RESPONSE_BYTES must be at most " +
                 std::to_string(bounds::response_bytes_max));
    return fetch{*req, *resp};
  }
  if (verb == provider_failed::verb) {
    if (a.empty() || a.size() > 2)
      return bad("proxy_failed needs CLIENT_ID [WHY]");
    auto id = parse_u64(a[0]);
    if (!id)
      return bad("proxy_failed: CLIENT_ID must be a decimal integer, got \"" + quote_arg(a[0], 40) +
                 "\"");
    std::string why = a.size() == 2 ? a[1] : std::string();
    if (why.size() > bounds::reason_max)
      return bad("proxy_failed: WHY must be at most " + std::to_string(bounds::reason_max) +
                 " bytes");
    return provider_failed{*id, why};
  }
  if (verb == authorize::verb) {
    std::optional<digest> t;
    if (a.size() == 1)
      t = digest_from_hex(a[0]);
    if (!t)
      return bad("proxy_authorize needs the 64-hex auth token");
    return authorize{*t};
  }
  return bad(
    "the proxy knows provide_proxy, proxy_authorize, proxy_providers, proxy_open, proxy_close, "
    "proxy_usage, metered, proxy_stalled, proxy_fetch, proxy_failed; got \"" +
    quote_arg(verb, 80) + "\"");
}

} // namespace peerlab::proxy
