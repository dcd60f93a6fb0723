#include "protocols/droplog/commands.hpp"

#include "protocols/common/sha256.hpp"
#include "protocols/common/text.hpp"
#include "protocols/droplog/httpmsg.hpp"

namespace peerlab::droplog {

void send_message::describe(std::string& out) const {
  describe_arg(out, peer);
  describe_arg(out, to_hex(byte_view{payload.data(), payload.size()}));
}

void http_request::describe(std::string& out) const {
  describe_arg(out, peer);
  describe_arg(out, method);
  describe_arg(out, target);
  describe_arg(out, to_hex(byte_view{body.data(), body.size()}));
  describe_arg(out, timeout_ms);
  // Only the live gateway sets these: the simulator's canonical text (and so
  // its fingerprints) stays as it was.
  for (auto& h : headers)
    describe_arg(out, h.name + ": " + h.value);
  if (want_message)
    describe_arg(out, "want_message");
}

std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err) {
  auto bad = [&](std::string reason) -> std::optional<command> {
    err = {fail_code::bad_request, std::move(reason)};
    return std::nullopt;
  };
  const bool send = verb == send_message::verb, call = verb == http_request::verb;
  if (!send && !call)
    return bad("unknown verb \"" + quote_arg(verb, 40) + "\" (send, http)");
  if ((send && args.size() != 2) || (call && args.size() != 4 && args.size() != 5))
    return bad(send ? "usage: send <peer> <payload>"
                    : "usage: http <peer> <method> <target> <body> [timeout ms]");
  auto peer = parse_u64(args[0]);
  if (!peer)
    return bad("\"" + quote_arg(args[0], 40) + "\" is not a decimal peer id");
  auto as_bytes = [](const std::string& s) { return bytes(s.begin(), s.end()); };
  if (send)
    return send_message{*peer, as_bytes(args[1])};
  http_request q{*peer, args[1], args[2], as_bytes(args[3]), 0};
  if (args.size() == 5) {
    auto ms = parse_u64(args[4]);
    if (!ms || *ms == 0 || *ms > http::limits::timeout_ms_max)
      return bad("timeout must be 1.." + std::to_string(http::limits::timeout_ms_max) + " ms");
    q.timeout_ms = *ms;
  }
  return q;
}

} // namespace peerlab::droplog
