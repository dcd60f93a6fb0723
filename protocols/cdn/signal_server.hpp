#pragma once
// The signalling server role: pairs clients with nearby peers, relays their
// link set-up, keeps each client's target number of peers, dissolves pairs
// when a side leaves or a pairing stalls, and bounds clients and message rates.
#include "protocols/cdn/cdn.hpp"
#include "protocols/cdn/signal_msg.hpp"

#include <map>
#include <set>

namespace peerlab::cdn {

class signal_server final : public role {
public:
  explicit signal_server(signal_config c) : cfg_(std::move(c)) {}
  port_t port() const override { return ports::cdn_signal; }
  const char* name() const override { return "cdn_signal"; }
  void start(context& ctx, effects& fx) override;
  void frame(context& ctx, peer_id from, byte_view data, effects& fx) override;
  void timer(context& ctx, std::uint64_t token, effects& fx) override;
  void peer_up(context& ctx, peer_id peer, std::string_view address, effects& fx) override;
  void stop(context& ctx, effects& fx) override;

  // Read-only views for tests and the simulator's samples.
  std::size_t clients() const { return clients_.size(); }
  std::size_t pairs() const { return pairs_.size(); }
  std::size_t addresses() const { return addresses_.size(); }
  bool paired(peer_id a, peer_id b) const { return pairs_.contains(key(a, b)); }

private:
  struct client {
    std::uint64_t seq = 0; // join order
    std::optional<double> lat, lon;
    std::uint32_t asn = 0;
    std::uint32_t want = 0;
    bool peerlab_links = false; // links over peerlab's transport, not WebRTC
    time_us last_heard = 0;
    double tokens = 0;
    time_us refill_at = 0;
    std::set<peer_id> pairs;
    std::set<peer_id> blocked;
    std::set<peer_id> claims; // links it said it still had when it (re)joined
  };
  struct pair_state {
    time_us since = 0;
    bool linked = false;
    bool a_linked = false, b_linked = false; // a = the smaller id
  };
  using pair_key = std::pair<peer_id, peer_id>;
  static pair_key key(peer_id a, peer_id b) { return a < b ? pair_key{a, b} : pair_key{b, a}; }

  void handle(context& ctx, peer_id from, const signal_msg& m, effects& fx);
  void join(context& ctx, peer_id from, const signal_msg& m, effects& fx);
  bool admit(context& ctx, peer_id from, client& c);
  void try_pair(context& ctx, peer_id id, effects& fx);
  double score(const client& a, const client& b) const;
  void add_pair(context& ctx, peer_id a, peer_id b, bool linked);
  void drop_pair(peer_id a, peer_id b, bool notify_a, bool notify_b, effects& fx);
  void remove_client(context& ctx, peer_id id, effects& fx);
  void update_open(peer_id id);
  std::string address_for(peer_id id) const;
  void send(peer_id to, const signal_msg& m, effects& fx);
  void error(peer_id to, std::string reason, effects& fx);

  signal_config cfg_;
  std::map<peer_id, client> clients_;
  std::map<pair_key, pair_state> pairs_;
  std::map<std::uint64_t, peer_id> open_; // join order -> clients below max_peers
  std::set<peer_id> needy_;               // clients below their want
  std::map<peer_id, std::string> addresses_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t msgs_this_second_ = 0, joins_this_second_ = 0;
};

} // namespace peerlab::cdn
