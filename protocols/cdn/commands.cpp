#include "protocols/cdn/commands.hpp"

#include "protocols/cdn/cdn.hpp"
#include "protocols/common/json_depth.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"

#include <cmath>
#include <cstdlib>

namespace peerlab::cdn {

namespace {

std::string number_text(double v) {
  // Fixed precision so the canonical text (traces, fingerprint) is stable.
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::optional<double> parse_double(const std::string& s) {
  if (s.empty() || s.size() > 32)
    return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

bool valid_url(const std::string& u) {
  return !u.empty() && u.size() <= bounds::url_max && u.front() == '/' && is_printable(u) &&
         u.find(' ') == std::string::npos;
}

} // namespace

void locate::describe(std::string& out) const {
  describe_arg(out, number_text(lat));
  describe_arg(out, number_text(lon));
  if (asn)
    describe_arg(out, asn);
}

void fetch::describe(std::string& out) const {
  describe_arg(out, url);
  describe_arg(out, hex(sha));
}

void signal_out::describe(std::string& out) const {
  describe_arg(out, peer);
  describe_arg(out, data);
}

void cache_put::describe(std::string& out) const {
  describe_arg(out, url);
  describe_arg(out, hex(sha));
  describe_arg(out, data.size());
}

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  auto peer_arg = [&]() -> std::optional<peer_id> {
    if (args.empty())
      return std::nullopt;
    return parse_u64(args[0]);
  };
  if (args.size() > limits::command_args_max)
    return bad("too many arguments");
  if (verb == locate::verb) {
    if (args.size() < 2 || args.size() > 3)
      return bad("locate takes LAT LON [ASN]");
    auto lat = parse_double(args[0]), lon = parse_double(args[1]);
    if (!lat || !lon || *lat < -90 || *lat > 90 || *lon < -180 || *lon > 180)
      return bad("locate needs a latitude in [-90, 90] and a longitude in [-180, 180]");
    locate l{*lat, *lon, 0};
    if (args.size() == 3) {
      auto asn = parse_u64(args[2]);
      if (!asn || *asn > 0xffffffffull)
        return bad("not an AS number: \"" + quote_arg(args[2], 40) + "\"");
      l.asn = static_cast<std::uint32_t>(*asn);
    }
    return l;
  }
  if (verb == load::verb) {
    if (args.size() != 1 || !valid_url(args[0]))
      return bad("load takes one page path starting with /");
    return load{args[0]};
  }
  if (verb == fetch::verb) {
    if (args.size() != 2 || !valid_url(args[0]))
      return bad("fetch takes URL SHA224 (a path starting with / and 56 hex digits)");
    auto sha = hash_from_hex(args[1]);
    if (!sha)
      return bad("not a 56-hex SHA-224: \"" + quote_arg(args[1], 80) + "\"");
    return fetch{args[0], *sha};
  }
  if (verb == link_up::verb || verb == link_down::verb) {
    auto p = peer_arg();
    if (args.size() != 1 || !p)
      return bad(std::string(verb) + " takes one decimal peer id");
    if (verb == link_up::verb)
      return link_up{*p};
    return link_down{*p};
  }
  if (verb == signal_out::verb) {
    auto p = peer_arg();
    if (args.size() != 2 || !p)
      return bad("signal_out takes PEER JSON");
    if (args[1].size() > bounds::signal_data_max || json_depth(args[1], 8) > 8)
      return bad("signal data too large or too deeply nested");
    return signal_out{*p, args[1]};
  }
  if (verb == signal_lost::verb) {
    if (!args.empty())
      return bad("signal_lost takes no arguments");
    return signal_lost{};
  }
  if (verb == cache_put::verb)
    return bad("cache_put has no text form (the host passes the bytes)");
  return bad("the cdn client knows locate, load, fetch, link_up, link_down, signal_out and "
             "signal_lost; got \"" +
             quote_arg(verb, 80) + "\"");
}

} // namespace peerlab::cdn
