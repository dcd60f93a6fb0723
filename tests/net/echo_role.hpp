#pragma once
// A tiny role for transport tests (port test_echo): "ping" frames are answered
// with "pong" frames carrying the same payload; a pong becomes an event.
#include "protocols/common/role.hpp"
#include "protocols/common/text.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace peerlab::test {

class echo_role final : public role {
public:
  static constexpr std::uint8_t ping = 1, pong = 2;

  port_t port() const override { return ports::test_echo; }
  const char* name() const override { return "echo"; }

  void frame(context&, peer_id from, byte_view data, effects& fx) override {
    if (data.size() < 2) {
      fx.count("frames_rejected");
      return;
    }
    if (data[1] == ping) {
      bytes reply(data.begin(), data.end());
      reply[1] = pong;
      fx.send(from, std::move(reply));
    } else if (data[1] == pong) {
      fx.emit(event{
        "pong",
        0,
        {{"from", std::to_string(from)}, {"payload", std::string(data.begin() + 2, data.end())}},
        {{"bytes", static_cast<double>(data.size())}}});
    } else {
      fx.count("frames_rejected");
    }
  }

  // "ping PEER TEXT": sends TEXT to PEER's echo role.
  struct ping_command {
    static constexpr std::string_view verb = "ping";
    peer_id peer = 0;
    std::string text;
    void describe(std::string& out) const {
      describe_arg(out, peer);
      describe_arg(out, text);
    }
  };
  using commands = std::variant<ping_command>;

  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    auto peer = args.size() == 2 ? parse_u64(args[0]) : std::nullopt;
    if (verb != ping_command::verb || !peer) {
      err = {fail_code::bad_request, "echo knows only \"ping PEER TEXT\""};
      return std::nullopt;
    }
    return peerlab::command(id, commands{ping_command{*peer, args[1]}});
  }

  void command(context&, const peerlab::command& c, effects& fx) override {
    auto* body = c.as<commands>();
    if (!body)
      return fx.fail(c, fail_code::bad_request, "echo knows only ping");
    auto& p = std::get<ping_command>(*body);
    bytes f{ports::test_echo, ping};
    f.insert(f.end(), p.text.begin(), p.text.end());
    fx.send(p.peer, std::move(f));
  }

  void stop(context&, effects& fx) override { fx.emit(event{"echo_stopped", 0, {}, {}}); }
};

} // namespace peerlab::test
