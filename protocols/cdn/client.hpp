#pragma once
// The CDN client role: keeps `want` peers through the signalling server,
// fetches resources from peers first and from the origin as a fallback,
// verifies each against its listed SHA-224, evicts peers that lie or stall,
// resumes an interrupted transfer elsewhere, serves its LRU cache to its
// peers, and reconnects to the server with exponential back-off and full
// jitter. Policy choices: docs/protocols/cdn.md.
#include "protocols/cdn/cdn.hpp"
#include "protocols/cdn/codec.hpp"
#include "protocols/cdn/commands.hpp"
#include "protocols/cdn/lru_cache.hpp"
#include "protocols/cdn/signal_msg.hpp"
#include "protocols/cdn/site.hpp"

#include <deque>
#include <map>
#include <set>

namespace peerlab::cdn {

class client final : public role {
public:
  client(client_config c, client_strategy s)
      : cfg_(std::move(c)), strategy_(s), cache_(cfg_.cache_entries, cfg_.cache_bytes) {}
  port_t port() const override { return ports::cdn_client; }
  const char* name() const override { return "cdn_client"; }
  void start(context& ctx, effects& fx) override;
  void frame(context& ctx, peer_id from, byte_view data, effects& fx) override;
  void timer(context& ctx, std::uint64_t token, effects& fx) override;
  void command(context& ctx, const peerlab::command& c, effects& fx) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, cdn::parse_command(verb, args, err));
  }
  void stop(context& ctx, effects& fx) override;
  void peer_up(context& ctx, peer_id peer, std::string_view address, effects& fx) override;

  // Read-only views for tests, the simulator's samples and the wasm host.
  std::size_t linked_peers() const;
  bool joined() const { return conn_ == conn::joined; }
  /// Whether the server's peer id is known (configured, or met at server_address).
  bool server_known() const { return cfg_.server_address.empty() || server_met_; }
  const lru_cache& cache() const { return cache_; }

private:
  // --- the server connection ---
  enum class conn : std::uint8_t { idle, joining, joined, waiting };
  void join(context& ctx, effects& fx);
  void lost(context& ctx, effects& fx, const char* why);
  void on_server(context& ctx, const signal_msg& m, effects& fx);
  void to_server(const signal_msg& m, effects& fx);

  // --- links to peers ---
  enum class link_state : std::uint8_t { pairing, connecting, linked };
  struct link {
    link_state state = link_state::pairing;
    bool initiator = false;
    time_us since = 0;
    std::uint64_t nonce = 0;
    time_us hello_sent = -1;
    time_us rtt = -1;
    double serve_tokens = -1; // bytes this peer may still ask for (-1: a full bucket)
    time_us serve_refill = 0;
  };
  void on_paired(context& ctx, peer_id peer, bool initiator, effects& fx);
  void on_signal(context& ctx, peer_id peer, const std::string& data, effects& fx);
  void on_hello(context& ctx, peer_id from, const hello& h, effects& fx);
  void send_hello(context& ctx, peer_id peer, link& l, effects& fx);
  void drop_link(context& ctx, peer_id peer, bool tell_server, effects& fx);
  void evict(context& ctx, peer_id peer, const std::string& reason, effects& fx);
  std::vector<peer_id> sources(const std::set<peer_id>& exclude) const;

  // --- fetches (client_fetch.cpp) ---
  struct part {
    peer_id peer = 0;
    bool origin = false;
    std::uint64_t begin = 0, end = 0;
  };
  struct job {
    std::uint64_t command_id = 0;
    std::uint32_t load = 0; // the page load it belongs to (0: none)
    std::string url;
    hash224 sha{};
    bool listing = false; // the page's listing: from the origin, trusted
    time_us started = 0, first_byte = -1, last_progress = 0;
    std::uint64_t total = ~0ull;
    bytes buf;
    std::uint64_t have = 0;
    std::map<std::uint32_t, peer_id> racing; // requests out to peers, none chosen yet
    bool streaming = false, from_origin = false;
    peer_id src = 0;
    std::uint32_t src_req = 0;
    std::uint64_t window_end = 0;
    std::uint32_t gen = 0; // invalidates old deadline and stall timers
    std::uint32_t origin_tries = 0;
    bool waiting_link = false, waited_link = false; // for a pairing in progress to link
    std::set<peer_id> tried;
    std::vector<part> parts;
    std::uint64_t peer_bytes = 0, origin_bytes = 0, discarded_bytes = 0;
    bytes suspect; // bytes that failed verification, kept to find the liar
    std::vector<part> suspect_parts;
  };
  struct page_load {
    std::uint64_t command_id = 0;
    std::string page;
    std::size_t pending = 0, done = 0, failed = 0;
  };
  struct queued {
    std::uint64_t command_id = 0;
    std::uint32_t load = 0;
    std::string url;
    hash224 sha{};
    bool listing = false;
  };
  void enqueue(context& ctx, queued q, effects& fx);
  void start_job(context& ctx, queued q, effects& fx);
  void race(context& ctx, std::uint32_t id, job& j, effects& fx);
  void use_origin(context& ctx, std::uint32_t id, job& j, effects& fx);
  void switch_source(context& ctx, std::uint32_t id, job& j, effects& fx);
  void request_window(context& ctx, std::uint32_t id, job& j, std::uint32_t length, effects& fx);
  void on_data(context& ctx, peer_id from, const data& d, effects& fx);
  void on_reject(context& ctx, peer_id from, const reject& r, effects& fx);
  void finish(context& ctx, std::uint32_t id, effects& fx);
  void end_job(context& ctx, std::uint32_t id, bool ok, const std::string& reason, effects& fx);
  void listing_done(context& ctx, job& j, effects& fx);
  void child_ended(context& ctx, std::uint32_t load, bool ok, effects& fx);
  void arm(context& ctx, std::uint32_t id, job& j, std::uint8_t kind, time_us delay, effects& fx);
  void jobs_using(context& ctx, peer_id peer, effects& fx);
  void link_ready(context& ctx, effects& fx);

  // --- serving (client_fetch.cpp) ---
  void on_request(context& ctx, peer_id from, const request& r, effects& fx);

  client_config cfg_;
  client_strategy strategy_;
  lru_cache cache_;
  std::optional<double> lat_, lon_;
  std::uint32_t asn_ = 0;
  bool server_met_ = false;
  bool page_loaded_ = false; // cfg_.load issued

  conn conn_ = conn::idle;
  std::uint32_t attempt_ = 0;
  std::uint64_t epoch_ = 0;
  time_us last_heard_ = 0;

  std::map<peer_id, link> links_;
  std::set<peer_id> evicted_;

  std::map<std::uint32_t, job> jobs_;
  std::map<std::uint32_t, std::uint32_t> reqs_; // request id -> job id
  std::deque<queued> queue_;
  std::map<std::uint32_t, page_load> loads_;
  std::uint32_t next_job_ = 1, next_req_ = 1, next_load_ = 1;
};

} // namespace peerlab::cdn
