#include "protocols/filexfer/commands.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"

namespace peerlab::filexfer {

void download_file::describe(std::string& out) const {
  describe_arg(out, to_hex(hash));
  for (auto p : providers)
    describe_arg(out, p);
  if (max_price != no_max_price)
    describe_arg(out, "max_price=" + std::to_string(max_price));
}

void purchase_report::describe(std::string& out) const {
  describe_arg(out, download);
  describe_arg(out, provider);
  describe_arg(out, to_hex(hash));
  for (auto v : {price, size, max_price, offset, length})
    describe_arg(out, v);
}

void lookup_metadata::describe(std::string& out) const {
  describe_arg(out, to_hex(hash));
  for (auto p : peers)
    describe_arg(out, p);
}

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  const bool lookup = verb == lookup_metadata::verb;
  if (verb != download_file::verb && !lookup)
    return bad("the downloader knows the verbs \"download\" and \"lookup\", got \"" +
               quote_arg(verb, 80) + "\"");
  if (args.size() < (lookup ? 1 : 2))
    return bad(std::string(verb) + " needs a 64-hex SHA-256 and " +
               (lookup ? "peer ids" : "at least one provider peer id"));
  if (args.size() > limits::command_args_max)
    return bad("too many arguments (at most " + std::to_string(limits::command_args_max) + ")");
  download_file d;
  auto hash = digest_from_hex(args[0]);
  if (!hash)
    return bad("args[0] is not a 64-hex SHA-256: \"" + quote_arg(args[0], 80) + "\"");
  d.hash = *hash;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (!lookup && args[i].starts_with("max_price=")) {
      auto m = parse_u64(std::string_view(args[i]).substr(10));
      if (!m)
        return bad("args[" + std::to_string(i) + "]: max_price is not a decimal amount: \"" +
                   quote_arg(args[i], 80) + "\"");
      d.max_price = *m;
      continue;
    }
    auto p = parse_u64(args[i]);
    if (!p)
      return bad("args[" + std::to_string(i) + "] is not a decimal peer id: \"" +
                 quote_arg(args[i], 80) + "\"");
    d.providers.push_back(*p);
  }
  if (lookup)
    return lookup_metadata{d.hash, std::move(d.providers)};
  if (d.providers.empty())
    return bad("download needs at least one provider peer id");
  return d;
}

} // namespace peerlab::filexfer
