#include "protocols/proxy/proxy.hpp"

#include <cmath>

namespace peerlab::proxy {

std::uint64_t fee_of(std::uint64_t bytes, std::uint64_t fee_per_kb) {
  auto v = static_cast<unsigned __int128>(bytes) * fee_per_kb / 1000;
  return v > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(v);
}

std::uint64_t band::margin(std::uint64_t reference) const {
  auto rel = static_cast<std::uint64_t>(std::floor(tolerance * static_cast<double>(reference)));
  return std::max(rel, slack_bytes);
}

bool band::within(std::uint64_t reference, std::uint64_t other) const {
  auto m = margin(reference);
  return other <= reference ? reference - other <= m : other - reference <= m;
}

std::string band::check() const {
  if (!(tolerance >= 0 && tolerance <= 1))
    return "tolerance must be in [0, 1]";
  return "";
}

std::optional<provider_strategy> provider_strategy_from_name(std::string_view s) {
  if (s == "honest")
    return provider_strategy::honest;
  if (s == "over_reports")
    return provider_strategy::over_reports;
  if (s == "drops_after_paid")
    return provider_strategy::drops_after_paid;
  return std::nullopt;
}

std::optional<client_strategy> client_strategy_from_name(std::string_view s) {
  if (s == "honest")
    return client_strategy::honest;
  if (s == "under_reports")
    return client_strategy::under_reports;
  if (s == "stops_paying")
    return client_strategy::stops_paying;
  return std::nullopt;
}

const char* strategy_name(provider_strategy s) {
  switch (s) {
  case provider_strategy::honest:
    return "honest";
  case provider_strategy::over_reports:
    return "over_reports";
  case provider_strategy::drops_after_paid:
    return "drops_after_paid";
  }
  return "?";
}

const char* strategy_name(client_strategy s) {
  switch (s) {
  case client_strategy::honest:
    return "honest";
  case client_strategy::under_reports:
    return "under_reports";
  case client_strategy::stops_paying:
    return "stops_paying";
  }
  return "?";
}

std::vector<std::string> provider_adversaries() { return {"over_reports", "drops_after_paid"}; }
std::vector<std::string> client_adversaries() { return {"under_reports", "stops_paying"}; }

std::string provider_config::check() const {
  if (auto e = tolerance.check(); !e.empty())
    return e;
  if (credit_window == 0)
    return "credit_window must be positive";
  if (stall_deadline <= 0)
    return "stall_deadline must be positive";
  if (strikes_max == 0)
    return "strikes_max must be positive";
  if (max_clients == 0 || max_clients > bounds::clients_max)
    return "max_clients must be 1.." + std::to_string(bounds::clients_max);
  if (address.size() > bounds::address_max)
    return "address longer than " + std::to_string(bounds::address_max) + " bytes";
  if (poll_interval <= 0 || confirm_deadline <= 0 || unknown_grace <= 0)
    return "poll_interval, confirm_deadline and unknown_grace must be positive";
  if (!(over_factor > 0 && over_factor <= 10))
    return "over_factor must be in (0, 10]";
  return "";
}

std::uint64_t provider_config::client_gain_bound_bytes() const {
  return 2 * credit_window + bounds::data_payload_max;
}

std::string client_config::check() const {
  if (auto e = tolerance.check(); !e.empty())
    return e;
  if (interval <= 0 || probe_timeout <= 0 || response_timeout <= 0 || resend_interval <= 0)
    return "interval, probe_timeout, response_timeout and resend_interval must be positive";
  if (probe_max == 0 || probe_max > bounds::providers_max)
    return "probe_max must be 1.." + std::to_string(bounds::providers_max);
  if (pay_every == 0)
    return "pay_every must be positive";
  if (max_switches == 0 || max_switches > 100)
    return "max_switches must be 1..100";
  if (!(under_factor > 0 && under_factor < 1))
    return "under_factor must be in (0, 1)";
  return "";
}

} // namespace peerlab::proxy
