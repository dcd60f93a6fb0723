#pragma once
// The site's origin as a role: answers REQUESTs for its listing and its
// resources, whose bytes are a function of their URL (site.hpp), so a live
// node's HTTP demo site serves the very bytes and listing the simulator uses.
#include "protocols/cdn/cdn.hpp"
#include "protocols/cdn/codec.hpp"
#include "protocols/cdn/site.hpp"

#include <map>

namespace peerlab::cdn {

class origin final : public role {
public:
  explicit origin(origin_config c) : cfg_(std::move(c)) {}
  port_t port() const override { return ports::cdn_origin; }
  const char* name() const override { return "cdn_origin"; }
  void start(context& ctx, effects& fx) override;
  void frame(context& ctx, peer_id from, byte_view data, effects& fx) override;

  const std::string& listing() const { return listing_; }
  /// What it serves (a live node's HTTP site builds the same site from it).
  const origin_config& config() const { return cfg_; }

private:
  struct held {
    hash224 sha{};
    bytes data;
    std::uint64_t size = 0;
  };
  void send_range(context& ctx, peer_id to, std::uint32_t req, const held& h, std::uint64_t offset,
                  std::uint32_t length, effects& fx);

  origin_config cfg_;
  std::map<std::string, held> resources_;
  std::string listing_;
};

} // namespace peerlab::cdn
