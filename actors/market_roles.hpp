#pragma once
// JSON readers for the paid file market's roles: "ledger",
// "payment_verifier", "payer", "account", and the "payment" object of a provider.
// node_roles.cpp registers them; errors name the JSON path.
#include "protocols/common/role.hpp"
#include "protocols/filexfer/payment_gate.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace peerlab::market_roles {

std::shared_ptr<role> ledger_role(const nlohmann::json& p, const std::string& path,
                                  const std::string& adversary);
std::shared_ptr<role> verifier_role(const nlohmann::json& p, const std::string& path,
                                    const std::string& adversary);
std::shared_ptr<role> payer_role(const nlohmann::json& p, const std::string& path,
                                 const std::string& adversary);
/// The account role; "ledger" is optional (without one, balance is refused).
std::shared_ptr<role> account_role(const nlohmann::json& p, const std::string& path,
                                   const std::string& adversary);

/// The gate of a provider whose parameters hold {"payment": {...}}; nullptr
/// if they do not. `chunk_bytes` is the provider's chunk size (a window must hold one).
std::shared_ptr<filexfer::payment_gate> provider_gate(const nlohmann::json& provider_params,
                                                      const std::string& path,
                                                      std::size_t chunk_bytes);

/// Names of the cheating payer strategies (adversaries of a node's payer).
const std::vector<std::string>& payer_adversaries();

} // namespace peerlab::market_roles
