#pragma once
// A tiny role for transport tests (port test_echo): "ping" frames are answered
// with "pong" frames carrying the same payload; a pong becomes an event.
#include "protocols/common/role.hpp"

#include <string>

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
  void command(context&, const peerlab::command& c, effects& fx) override {
    if (c.verb != "ping" || c.args.size() != 2)
      return;
    bytes f{ports::test_echo, ping};
    f.insert(f.end(), c.args[1].begin(), c.args[1].end());
    fx.send(std::stoull(c.args[0]), std::move(f));
  }

  void stop(context&, effects& fx) override { fx.emit(event{"echo_stopped", 0, {}, {}}); }
};

} // namespace peerlab::test
