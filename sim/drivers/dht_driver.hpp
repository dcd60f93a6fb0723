#pragma once
// The DHT workload driver (scenario item {"kind": "dht"}): bootstraps every
// kad node when it comes up, makes nodes provide keys (random keys or the
// files they hold), runs find_providers / find_node lookups from random
// online nodes, downloads files whose providers it found through the DHT, and
// samples how many of the k closest online nodes hold each record. It owns
// the checkers dht_lookups_end, dht_findable, dht_lookup_success, dht_hops
// and dht_replication. Documented in docs/protocols/kad.md.
#include "protocols/kad/ids.hpp"
#include "sim/drivers/dht_spec.hpp"
#include "sim/run_stats.hpp"
#include "sim/workload_driver.hpp"

#include <map>
#include <set>
#include <vector>

namespace peerlab::sim::dht {

/// The registry entry (sim/drivers.cpp).
driver_kind kind();

/// Outcomes of one class of lookups (read by checkers, the summary and tests).
struct lookup_stats {
  std::uint64_t issued = 0, ended = 0, succeeded = 0, interrupted = 0, skipped_offline = 0;
  std::uint64_t rejected = 0; // ended by command_failed
  samples hops, messages, latency_ms;
};

/// One sample of record replication: holders among the k closest online nodes.
struct replication_sample {
  time_us t = 0;
  std::uint64_t records = 0;
  double mean = 0;
  std::uint64_t min = 0, max = 0;
};

class driver final : public workload_driver {
public:
  driver(spec s, const scenario& sc);

  void start(sim_api&) override;
  void tick(sim_api&, std::uint32_t node, std::uint64_t arg) override;
  void on_event(sim_api&, std::uint32_t node, const event&) override;
  void on_node_up(sim_api&, std::uint32_t node) override;
  void on_node_down(sim_api&, std::uint32_t node, bool crash) override;
  bool evaluate(const sim_api&, const checker_spec&, verdict&) const override;
  void summarize(const sim_api&, nlohmann::json& summary) const override;

  // Read-only views for tests.
  const lookup_stats& find_providers() const { return providers_; }
  const lookup_stats& find_node() const { return nodes_; }
  const lookup_stats& download_lookups() const { return download_lookups_; }
  /// find_providers lookups (workload) for records whose provider stayed online.
  const lookup_stats& online_records() const { return online_; }
  std::uint64_t open_lookups() const { return open_.size(); }
  const std::vector<replication_sample>& replication() const { return replication_; }
  std::uint64_t puts_done() const { return puts_done_; }
  std::uint64_t puts_failed() const { return puts_failed_; }
  std::uint64_t downloads_issued() const { return downloads_issued_; }
  std::uint64_t downloads_without_providers() const { return downloads_no_providers_; }

private:
  enum action : std::uint64_t {
    act_bootstrap = 1,
    act_provide,
    act_lookup,
    act_download,
    act_sample
  };
  static std::uint64_t arg(action a, std::uint64_t payload) {
    return (std::uint64_t(a) << 56) | payload;
  }

  struct record {
    kad::kad_id key{};
    std::string hex;
    std::vector<std::uint32_t> providers;
    std::vector<time_us>
      announced;         // per provider: first put_done of its current session, -1 if none
    bool issued = false; // some provide was issued (the key may be looked up)
  };
  enum class purpose : std::uint8_t { lookup, download };
  struct open_lookup {
    std::uint32_t node;
    lookup_verb verb;
    purpose why;
    std::uint32_t item; // record index (lookup) or file index (download)
    std::uint32_t spec; // download spec index
    time_us started;
  };

  bool is_kad(std::uint32_t node) const;
  std::uint32_t random_online(sim_api&, std::uint32_t first, std::uint32_t last);
  void issue_provide(sim_api&, std::uint32_t record, std::uint32_t pos);
  void run_lookup(sim_api&, std::uint32_t stream);
  void run_download(sim_api&, std::uint32_t node, std::uint32_t spec);
  void lookup_ended(sim_api&, std::uint32_t node, const open_lookup&, const event&);
  void fetch_ended(sim_api&, const open_lookup&, const event&);
  void sample_replication(sim_api&);
  bool record_online(const record&, time_us since) const;
  const kad::kad_id& id_of(std::uint32_t node);
  const lookup_stats& stats_for(const std::string& verb) const;

  spec spec_;
  std::vector<bool> kad_group_;           // per group
  std::vector<std::uint32_t> node_first_; // first node of each group (+ end)
  std::pair<std::uint32_t, std::uint32_t> boot_{0, 0};
  std::vector<record> records_;
  std::map<kad::kad_id, std::uint32_t> record_of_key_;
  std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>>
    provides_of_node_; // node -> (record, pos)
  std::set<std::pair<std::uint32_t, std::uint32_t>>
    pending_provides_;                           // (node, record): issue when it is up
  std::vector<std::uint32_t> announced_records_; // records with a provide issued, in order
  std::map<std::uint64_t, open_lookup> open_;    // by command id
  std::vector<std::uint64_t> lookups_run_;       // per lookup stream
  // Downloads through the DHT.
  std::vector<std::vector<std::uint32_t>> files_of_spec_;      // file indices per download spec
  std::vector<std::vector<std::uint32_t>> downloads_per_node_; // [spec][node - first]
  std::set<std::pair<std::uint32_t, std::uint32_t>> busy_; // (node, file) looked up or downloading
  std::set<std::pair<std::uint32_t, std::uint32_t>> fetched_; // (node, file) downloaded here
  std::vector<kad::kad_id> ids_;
  std::vector<bool> have_id_;
  rng samples_rng_;
  lookup_stats providers_, nodes_, download_lookups_, online_;
  std::vector<replication_sample> replication_;
  std::uint64_t puts_done_ = 0, puts_failed_ = 0, downloads_issued_ = 0,
                downloads_no_providers_ = 0;
  std::uint64_t bootstraps_ = 0;
};

} // namespace peerlab::sim::dht
