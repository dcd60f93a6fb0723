#include "protocols/kad/commands.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"
#include "protocols/kad/kad.hpp"

namespace peerlab::kad {

void bootstrap::describe(std::string& out) const {
  for (auto& s : seeds)
    describe_arg(out, std::to_string(s.peer) + (s.address.empty() ? "" : "@" + s.address));
}
void find_node::describe(std::string& out) const { describe_arg(out, to_hex(target)); }
void find_providers::describe(std::string& out) const {
  describe_arg(out, to_hex(key));
  describe_arg(out, want);
}
void provide::describe(std::string& out) const { describe_arg(out, to_hex(key)); }
void stop_providing::describe(std::string& out) const { describe_arg(out, to_hex(key)); }

namespace {

std::optional<kad_id> key_at(const std::vector<std::string>& args, std::size_t i,
                             command_error& err) {
  auto key = parse_key(args[i]);
  if (!key)
    err = {fail_code::bad_request, "expected 64 hex digits or http_proxy_providers, got \"" +
                                     quote_arg(args[i], 80) + "\""};
  return key;
}

bool arity(std::string_view verb, const std::vector<std::string>& args, std::size_t min,
           std::size_t max, command_error& err) {
  if (args.size() >= min && args.size() <= max)
    return true;
  err = {fail_code::bad_request, std::string(verb) + " takes " + std::to_string(min) +
                                   (max > min ? " or " + std::to_string(max) : "") +
                                   " argument(s), got " + std::to_string(args.size())};
  return false;
}

} // namespace

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  if (args.size() > peerlab::limits::command_args_max) {
    err = {fail_code::bad_request, "too many arguments (at most " +
                                     std::to_string(peerlab::limits::command_args_max) + ")"};
    return std::nullopt;
  }
  if (verb == bootstrap::verb) {
    bootstrap b;
    for (auto& a : args) {
      auto at = a.find('@');
      auto peer = parse_u64(std::string_view(a).substr(0, at));
      if (!peer) {
        err = {fail_code::bad_request,
               "expected a decimal peer id[@address], got \"" + quote_arg(a, 80) + "\""};
        return std::nullopt;
      }
      std::string address = at == std::string::npos ? std::string() : a.substr(at + 1);
      if (address.size() > limits::address_bytes_max) {
        err = {fail_code::bad_request,
               "address longer than 255 bytes in \"" + quote_arg(a, 40) + "...\""};
        return std::nullopt;
      }
      b.seeds.push_back({*peer, std::move(address)});
    }
    return b;
  }
  auto single_key = [&](auto cmd) -> std::optional<command> {
    if (!arity(verb, args, 1, 1, err))
      return std::nullopt;
    auto key = key_at(args, 0, err);
    if (!key)
      return std::nullopt;
    if constexpr (std::is_same_v<decltype(cmd), find_node>)
      cmd.target = *key;
    else
      cmd.key = *key;
    return cmd;
  };
  if (verb == find_node::verb)
    return single_key(find_node{});
  if (verb == provide::verb)
    return single_key(provide{});
  if (verb == stop_providing::verb)
    return single_key(stop_providing{});
  if (verb == find_providers::verb) {
    if (!arity(verb, args, 1, 2, err))
      return std::nullopt;
    auto key = key_at(args, 0, err);
    if (!key)
      return std::nullopt;
    find_providers f{*key, 0};
    if (args.size() == 2) {
      auto n = parse_u64(args[1]);
      if (!n || *n > limits::wanted_providers_max) {
        err = {fail_code::bad_request, "count must be 0 (all) to " +
                                         std::to_string(limits::wanted_providers_max) + ", got \"" +
                                         quote_arg(args[1], 40) + "\""};
        return std::nullopt;
      }
      f.want = static_cast<std::size_t>(*n);
    }
    return f;
  }
  err = {fail_code::bad_request,
         "unknown command \"" + quote_arg(verb, 80) +
           "\" (known: bootstrap, provide, stop_providing, find_providers, find_node)"};
  return std::nullopt;
}

} // namespace peerlab::kad
