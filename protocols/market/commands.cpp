#include "protocols/market/commands.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"

#include <charconv>

namespace peerlab::market {

namespace {

std::optional<std::int64_t> parse_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

} // namespace

void provide_path::describe(std::string& out) const {
  describe_arg(out, path);
  describe_arg(out, name);
  describe_arg(out, price);
  describe_arg(out, to_hex(hash));
  describe_arg(out, stamp.size);
  describe_arg(out, std::to_string(stamp.mtime_ns));
}

void unprovide_file::describe(std::string& out) const { describe_arg(out, to_hex(hash)); }

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
  if (verb == wallet::verb)
    return no_args(wallet{});
  if (verb == list_provided::verb)
    return no_args(list_provided{});
  if (verb == list_downloads::verb)
    return no_args(list_downloads{});
  if (verb == list_payments::verb)
    return no_args(list_payments{});
  if (verb == provide_path::verb) {
    if (a.size() != 6)
      return bad("provide needs PATH NAME PRICE HASH SIZE MTIME_NS");
    auto price = parse_u64(a[2]);
    auto hash = digest_from_hex(a[3]);
    auto size = parse_u64(a[4]);
    auto mtime = parse_i64(a[5]);
    if (a[0].empty() || a[0][0] != '/' || !price || !hash || !size || !mtime)
      return bad("provide: bad arguments (absolute path, decimal price, 64-hex hash, size, mtime)");
    if (a[1].size() > limits::file_name_max)
      return bad("provide: name longer than " + std::to_string(limits::file_name_max) + " bytes");
    return provide_path{a[0], a[1], *price, *hash, file_stamp{*size, *mtime}};
  }
  if (verb == unprovide_file::verb) {
    std::optional<digest> hash;
    if (a.size() == 1)
      hash = digest_from_hex(a[0]);
    if (!hash)
      return bad("unprovide needs a 64-hex SHA-256");
    return unprovide_file{*hash};
  }
  if (verb == balance_of::verb) {
    if (a.size() > 1)
      return bad("balance takes at most one account");
    balance_of b;
    if (a.size() == 1) {
      auto acc = parse_u64(a[0]);
      if (!acc)
        return bad("account must be a decimal node id, got \"" + quote_arg(a[0], 40) + "\"");
      b.account = *acc;
    }
    return b;
  }
  return bad("the market knows wallet (payer) and provide, unprovide, provided, downloads, "
             "payments, balance (account); got \"" +
             quote_arg(verb, 80) + "\"");
}

} // namespace peerlab::market
