#include "protocols/kad/kad.hpp"

#include "protocols/kad/node.hpp"

#include <stdexcept>

namespace peerlab::kad {

std::optional<std::string> validate(const config& c) {
  if (c.k == 0 || c.k > limits::k_max)
    return "k must be 1.." + std::to_string(limits::k_max);
  if (c.alpha == 0 || c.alpha > limits::alpha_max)
    return "alpha must be 1.." + std::to_string(limits::alpha_max);
  if (c.request_timeout <= 0)
    return std::string("request_timeout must be positive");
  if (c.min_request_timeout <= 0)
    return std::string("min_request_timeout must be positive");
  if (c.min_stall_time <= 0)
    return std::string("min_stall_time must be positive");
  if (c.rtt_peers > limits::rtt_peers_max)
    return "rtt_peers must be at most " + std::to_string(limits::rtt_peers_max);
  if (c.query_timeout <= 0)
    return std::string("query_timeout must be positive");
  if (c.provider_ttl <= 0)
    return std::string("provider_ttl must be positive");
  if (c.republish_interval <= 0)
    return std::string("republish_interval must be positive");
  if (c.refresh_interval <= 0)
    return std::string("refresh_interval must be positive");
  if (c.replacement_cache > limits::replacement_cache_max)
    return "replacement_cache must be at most " + std::to_string(limits::replacement_cache_max);
  if (c.max_providers_per_key == 0 || c.max_providers_per_key > limits::providers_per_message_max)
    return "max_providers_per_key must be 1.." + std::to_string(limits::providers_per_message_max);
  if (c.max_records_total == 0 || c.max_records_total > limits::store_records_max)
    return "max_records_total must be 1.." + std::to_string(limits::store_records_max);
  if (c.max_records_per_peer == 0 || c.max_records_per_peer > c.max_records_total)
    return std::string("max_records_per_peer must be 1..max_records_total");
  if (c.max_refresh_cpl < 0 || c.max_refresh_cpl >= id_bits)
    return std::string("max_refresh_cpl must be 0..255");
  return std::nullopt;
}

std::shared_ptr<role> make_kad_role(const config& c) { return std::make_shared<node>(c); }

} // namespace peerlab::kad
