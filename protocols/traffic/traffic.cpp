#include "protocols/traffic/traffic.hpp"

#include "protocols/common/wire.hpp"

namespace peerlab::traffic {

constexpr std::uint8_t hop_type = 1;
constexpr std::size_t header_size = 10;

bytes encode_hop(std::uint32_t hops, std::uint32_t size) {
  bytes out;
  out.reserve(std::max<std::size_t>(size, header_size));
  wire::writer w(out);
  w.u8(ports::traffic);
  w.u8(hop_type);
  w.u32(hops);
  auto total = static_cast<std::uint32_t>(std::max<std::size_t>(size, header_size));
  w.u32(total); // the frame's own length, so a truncated frame is rejected
  out.resize(total, 0);
  return out;
}

bool decode_hop(byte_view frame, std::uint32_t& hops) {
  wire::reader r(frame);
  std::uint8_t port = 0, type = 0;
  std::uint32_t total = 0;
  return r.u8(port) && port == ports::traffic && r.u8(type) && type == hop_type && r.u32(hops) &&
         r.u32(total) && total == frame.size();
}

namespace {

class traffic_role final : public role {
public:
  explicit traffic_role(const config& c) : cfg_(c) {}
  port_t port() const override { return ports::traffic; }
  const char* name() const override { return "traffic"; }
  const char* message_name(std::uint8_t t) const override { return t == hop_type ? "HOP" : "?"; }

  void start(context& ctx, effects& fx) override {
    for (std::uint32_t i = 0; i < cfg_.in_flight; ++i)
      forward(ctx, 0, fx);
  }

  void frame(context& ctx, peer_id, byte_view data, effects& fx) override {
    std::uint32_t hops = 0;
    if (!decode_hop(data, hops)) {
      fx.count("frames_rejected");
      return;
    }
    fx.count("traffic.received");
    if (cfg_.ttl == 0 || hops + 1 < cfg_.ttl)
      forward(ctx, hops + 1, fx);
  }

private:
  void forward(context& ctx, std::uint32_t hops, effects& fx) {
    if (cfg_.peers < 2)
      return;
    peer_id to = ctx.random.below(cfg_.peers - 1);
    if (to >= ctx.self)
      ++to; // never to itself
    fx.send(to, encode_hop(hops, cfg_.size));
  }

  config cfg_;
};

} // namespace

std::shared_ptr<role> make_traffic(const config& c) { return std::make_shared<traffic_role>(c); }

} // namespace peerlab::traffic
