#include "protocols/client/commands.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"

namespace peerlab::client {

void join::describe(std::string& out) const {
  for (auto p : seeds)
    describe_arg(out, p);
  for (auto& a : seed_addresses)
    describe_arg(out, a);
}

void fetch::describe(std::string& out) const {
  describe_arg(out, to_hex(hash));
  for (auto p : providers)
    describe_arg(out, p);
  for (auto& a : provider_addresses)
    describe_arg(out, a);
}

namespace {

constexpr std::size_t max_address_bytes = 255;

// A peer named by id (all digits) or by "host:port".
bool add_peer(const std::string& a, std::vector<peer_id>& ids, std::vector<std::string>& addresses,
              command_error& err) {
  if (auto id = parse_u64(a)) {
    ids.push_back(*id);
    return true;
  }
  if (a.empty() || a.size() > max_address_bytes || a.find(':') == std::string::npos) {
    err = {fail_code::bad_request,
           "\"" + quote_arg(a, 60) + "\" is neither a decimal peer id nor a host:port address"};
    return false;
  }
  addresses.push_back(a);
  return true;
}

} // namespace

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  if (args.size() > limits::command_args_max)
    return bad("too many arguments (at most " + std::to_string(limits::command_args_max) + ")");
  if (verb == join::verb) {
    join j;
    for (auto& a : args)
      if (!add_peer(a, j.seeds, j.seed_addresses, err))
        return std::nullopt;
    return j;
  }
  if (verb == announce::verb || verb == fetch::verb) {
    if (args.empty())
      return bad(std::string(verb) + " needs a 64-hex SHA-256");
    auto hash = digest_from_hex(args[0]);
    if (!hash)
      return bad("not a 64-hex SHA-256: \"" + quote_arg(args[0], 80) + "\"");
    if (verb == announce::verb) {
      if (args.size() != 1)
        return bad("announce takes only the hash");
      return announce{*hash};
    }
    fetch f{*hash, {}, {}};
    for (std::size_t i = 1; i < args.size(); ++i)
      if (!add_peer(args[i], f.providers, f.provider_addresses, err))
        return std::nullopt;
    return f;
  }
  return bad("the client knows join, announce and fetch; got \"" + quote_arg(verb, 80) + "\"");
}

} // namespace peerlab::client
