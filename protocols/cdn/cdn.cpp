#include "protocols/cdn/cdn.hpp"

#include "protocols/cdn/client.hpp"
#include "protocols/cdn/origin.hpp"
#include "protocols/cdn/signal_server.hpp"

#include <set>

namespace peerlab::cdn {

std::string signal_config::validate() const {
  if (max_peers == 0 || max_peers > bounds::want_max * 4)
    return "max_peers must be 1.." + std::to_string(bounds::want_max * 4);
  if (scan_max == 0)
    return "scan_max must be at least 1";
  if (rate == 0 || burst == 0)
    return "rate and burst must be at least 1";
  if (client_timeout <= 0 || pair_timeout <= 0)
    return "client_timeout and pair_timeout must be positive";
  if (max_clients == 0 || max_clients > bounds::clients_max)
    return "max_clients must be 1.." + std::to_string(bounds::clients_max);
  if (!(asn_penalty_km >= 0) || !(unknown_km >= 0))
    return "asn_penalty_km and unknown_km must be >= 0";
  return {};
}

std::string origin_config::validate() const {
  if (page.empty() || page.front() != '/' || page.size() > bounds::url_max)
    return "page must be a path starting with /";
  if (resources.size() > bounds::listing_entries_max)
    return "at most " + std::to_string(bounds::listing_entries_max) + " resources";
  std::set<std::string> urls{page};
  for (auto& r : resources) {
    if (r.url.empty() || r.url.front() != '/' || r.url.size() > bounds::url_max ||
        r.url.find(' ') != std::string::npos)
      return "resource url \"" + r.url.substr(0, 80) +
             "\" must be a path starting with / (no spaces)";
    if (!urls.insert(r.url).second)
      return "url " + r.url.substr(0, 80) + " appears twice (or is the page)";
    if (r.size > bounds::resource_max)
      return "resource " + r.url.substr(0, 80) + " is larger than 64 MiB";
  }
  return {};
}

std::string client_config::validate() const {
  if (want == 0 || want > bounds::want_max)
    return "want must be 1.." + std::to_string(bounds::want_max);
  if (fanout == 0)
    return "fanout must be at least 1";
  if (first_window == 0 || first_window > bounds::window_max || window == 0 ||
      window > bounds::window_max)
    return "first_window and window must be 1 B..1 MiB";
  if (peer_deadline <= 0 || stall_timeout <= 0 || fetch_timeout <= 0 || link_timeout <= 0 ||
      heartbeat <= 0 || join_timeout <= 0 || backoff_base <= 0 || backoff_cap < backoff_base)
    return "every duration must be positive, and backoff_cap at least backoff_base";
  if (!load.empty() && (load.front() != '/' || load.size() > bounds::url_max))
    return "load must be a page path starting with /";
  if (server_address.size() > 64 || origin_address.size() > 64)
    return "server_address and origin_address are \"ip:port\" texts";
  if (serve_rate == 0 || serve_burst < bounds::chunk_max)
    return "serve_rate must be positive and serve_burst at least 16 KiB";
  if (max_fetches == 0 || max_fetches > bounds::fetches_max)
    return "max_fetches must be 1.." + std::to_string(bounds::fetches_max);
  return {};
}

std::shared_ptr<role> make_signal(const signal_config& c) {
  return std::make_shared<signal_server>(c);
}
std::shared_ptr<role> make_origin(const origin_config& c) { return std::make_shared<origin>(c); }
std::shared_ptr<role> make_client(const client_config& c, client_strategy s) {
  return std::make_shared<client>(c, s);
}

} // namespace peerlab::cdn
