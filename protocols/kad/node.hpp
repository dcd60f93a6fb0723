#pragma once
// The Kademlia node role: answers PING, FIND_NODE, ADD_PROVIDER and
// GET_PROVIDERS, and runs lookups, puts, bootstrap, bucket refresh and
// republish for its own commands. Pure state machine (role.hpp).
#include "protocols/kad/commands.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/kad/lookup.hpp"
#include "protocols/kad/codec.hpp"
#include "protocols/kad/provider_store.hpp"
#include "protocols/kad/routing_table.hpp"
#include "protocols/kad/rtt.hpp"

#include <map>
#include <memory>
#include <set>

namespace peerlab::kad {

class node final : public role {
public:
  explicit node(const config& c);

  port_t port() const override { return ports::kad; }
  const char* name() const override { return "kad"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, kad::parse_command(verb, args, err));
  }
  const char* message_name(std::uint8_t t) const override { return msg_name(t); }
  std::vector<const table_schema*> tables() const override;

  // Read-only views for tests, checkers and benchmarks.
  const config& settings() const { return cfg_; }
  const routing_table* table() const { return table_.get(); }
  const provider_store& records() const { return records_; }
  std::size_t active_queries() const { return queries_.size(); }
  std::size_t pending_requests() const { return pending_.size(); }
  bool provides(const kad_id& key) const { return provided_.count(key) != 0; }
  const rtt_estimator& rtts() const { return rtt_; }
  /// Timeout and stall time of a request sent to `p` now (docs: "Round-trip times").
  time_us request_timeout_for(peer_id p) const;
  time_us stall_time_for(peer_id p) const;

private:
  enum class query_kind : std::uint8_t { find_node, get_providers, put, refresh, bootstrap };
  struct query {
    query(std::uint64_t id_, query_kind kind_, const kad_id& target_, lookup walk_)
        : id(id_), kind(kind_), target(target_), walk(std::move(walk_)) {}
    std::uint64_t id;
    query_kind kind;
    kad_id target;
    lookup walk;
    std::uint64_t command_id = 0;
    time_us started = 0;
    std::uint64_t messages = 0;
    bool timed_out = false;
    // get_providers
    std::size_t want = 0; // 0: every provider the lookup meets
    std::vector<contact> found;
    std::set<peer_id> found_set;
    std::uint32_t found_hops = 0;
    // put: phase 2 stores the record at the closest peers found in phase 1
    bool storing = false;
    bool republish = false;
    std::size_t acks = 0;
    std::size_t refusals = 0;
    std::size_t store_pending = 0;
    std::uint32_t lookup_hops = 0;
  };
  struct pending {
    contact to;
    msg_type type;
    std::uint64_t query = 0; // 0: a liveness ping of the routing table
    time_us sent = 0;
  };

  // node.cpp: server side and plumbing
  void handle_request(context&, peer_id from, const message& m, effects&);
  void handle_response(context&, peer_id from, const message& m, effects&);
  void request_failed(context&, std::uint64_t request_id, effects&);
  void request_stalled(context&, std::uint64_t request_id, effects&);
  bool send_request(context&, const contact& to, message m, std::uint64_t query_id, effects&);
  message header(context&, msg_type t, std::uint64_t request_id) const;

  // node_queries.cpp: lookups, puts, refresh and their reports
  query* start_query(context&, query_kind kind, const kad_id& target,
                     const std::vector<contact>& extra_seeds, effects&);
  void drive(context&, query& q, effects&);
  void answered(context&, query& q, peer_id from, const message& m, effects&);
  void unanswered(context&, query& q, peer_id to, msg_type request, effects&);
  void lookup_finished(context&, query& q, effects&);
  void store_phase(context&, query& q, effects&);
  void finish(context&, query& q, const char* end, effects&);
  void refresh_buckets(context&, effects&);
  bool provide_key(context&, const kad_id& key, std::uint64_t command_id, bool republish, effects&);
  void schedule_republish(const kad_id& key, time_us delay, effects&);
  void publish_after_restart(effects&);

  // node_commands.cpp
  void reject(const peerlab::command& c, fail_code code, const std::string& error, effects&);
  void run(context&, const peerlab::command&, const bootstrap&, effects&);
  void run(context&, const peerlab::command&, const find_node&, effects&);
  void run(context&, const peerlab::command&, const find_providers&, effects&);
  void run(context&, const peerlab::command&, const provide&, effects&);
  void run(context&, const peerlab::command&, const stop_providing&, effects&);

  config cfg_;
  std::unique_ptr<routing_table> table_;
  provider_store records_;
  rtt_estimator rtt_;
  std::map<std::uint64_t, query> queries_;
  std::map<std::uint64_t, pending> pending_;
  std::map<kad_id, std::uint64_t> provided_;          // key -> current republish serial
  std::map<std::uint64_t, kad_id> republish_serials_; // serial -> key (timers in flight)
  std::set<kad_id> unpublished_;                      // reloaded after a restart
  std::vector<contact> bootstrap_seeds_;              // last bootstrap peers, for retries
  std::uint64_t next_request_ = 0;
  std::uint64_t next_query_ = 1;
  std::uint64_t next_serial_ = 1;
  std::uint64_t epoch_ = 0; // bumped by start(): older periodic timers are ignored
};

} // namespace peerlab::kad
