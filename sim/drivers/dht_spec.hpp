#pragma once
// The scenario item {"kind": "dht", ...}: what the DHT workload driver does
// (bootstrap, provide, lookups, downloads through the DHT, replication
// sampling). Fields are documented in docs/protocols/kad.md ("Simulator
// workload"); parse errors name the JSON path.
#include "sim/distribution.hpp"
#include "sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace peerlab::sim::dht {

struct bootstrap_spec {
  std::string group;       // bootstrap nodes: peers are drawn from this group
  std::uint64_t peers = 3; // how many bootstrap peers each node is given
  time_us delay = 0;       // after a node comes up (every start and restart)
};

struct provide_spec {
  std::string group;          // random keys: providers drawn from this group
  std::uint64_t keys = 0;     // random keys (one provider each)
  std::string files;          // or: every holder of this file set provides SHA-256 of the file
  time_us at = 0, spread = 0; // each provide is issued at at + uniform(0, spread)
};

enum class lookup_verb { find_providers, find_node };

struct lookup_spec {
  lookup_verb verb = lookup_verb::find_providers;
  std::string group;     // lookups run on random online nodes of this group
  distribution interval; // between two lookups of this stream (network-wide)
  time_us start = 0, stop = 0;
  std::uint64_t count = 0; // at most this many lookups (0 = no bound but stop)
  std::uint64_t want = 1;  // find_providers count (0 = every provider the lookup meets)
};

struct download_spec_dht {
  std::string group;     // downloaders (need roles kad, downloader and client)
  std::string files;     // file set
  distribution interval; // per node, between two downloads
  time_us start = 0, stop = 0;
  std::uint64_t max_per_node = 1;
};

struct replication_spec {
  time_us interval = 0;       // 0 = no sampling
  std::uint64_t records = 32; // records sampled (the first announced keys)
};

struct spec {
  std::vector<std::string> kad_groups; // groups whose nodes run the kad role
  std::size_t k = 20;                  // kad bucket size of those groups (replication target)
  bootstrap_spec bootstrap;
  provide_spec provide;
  bool has_provide = false;
  std::vector<lookup_spec> lookups;
  std::vector<download_spec_dht> downloads;
  replication_spec replication;
};

/// Validates the item (throws config_error naming the path) and returns it parsed.
spec parse_spec(const nlohmann::json& item, const std::string& path, const scenario& s);

/// Checker names the driver owns, and the validation of their fields (throws
/// config_error naming the path).
const std::vector<std::string>& checker_names();
void validate_checker(const checker_spec& c, const std::string& path);

} // namespace peerlab::sim::dht
