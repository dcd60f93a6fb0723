// The paid proxy's local HTTP API (/api/proxy/*) on live nodes: every
// malformed or misplaced request gets a JSON error {"error", "status"} that
// names what was wrong, and a good one reaches the role and answers with what
// the role said.
#include "market_api_world.hpp"

using namespace peerlab;
using namespace peerlab::test;

namespace {

json provider_roles(peer_id ledger, const std::string& address) {
  return json::array(
    {{{"role", "proxy_provider"}, {"ledger", ledger}, {"ledger_address", address}}});
}

json client_roles(peer_id ledger, const std::string& address) {
  return json::array({{{"role", "proxy_client"},
                       {"ledger", ledger},
                       {"ledger_address", address},
                       {"probe_timeout", "300ms"}}});
}

} // namespace

TEST_CASE("proxy api: requests to a node without the role, malformed bodies and wrong states get "
          "clear errors") {
  api_node ledger{"proxy-api-ledger", market_roles::ledger()};
  api_node provider{"proxy-api-provider", provider_roles(ledger.id(), ledger.address()),
                    json{{"max_price", 1000}}};
  api_node client{"proxy-api-client", client_roles(ledger.id(), ledger.address())};

  // A node without the role.
  expect_error(ledger.post("/api/proxy/provide", {{"fee_per_kb", 5}}), 409,
               "runs no proxy_provider role");
  expect_error(ledger.call("POST", "/api/proxy/open", "{}"), 409, "runs no proxy_client role");
  expect_error(ledger.get("/api/proxy/usage"), 409, "no proxy_provider or proxy_client role");
  expect_error(provider.get("/api/proxy/providers"), 409, "runs no proxy_client role");
  expect_error(client.call("POST", "/api/proxy/stop-providing", ""), 409,
               "runs no proxy_provider role");

  // Malformed provide requests.
  const std::string provide = "/api/proxy/provide";
  expect_error(provider.call("POST", provide, "{\"fee_per_kb\": "), 400, "not valid JSON");
  expect_error(provider.post(provide, json::object()), 400, "fee_per_kb");
  expect_error(provider.post(provide, {{"fee_per_kb", -3}}), 400, "must not be negative");
  expect_error(provider.post(provide, {{"fee_per_kb", 2.5}}), 400, "whole number");
  expect_error(provider.post(provide, {{"fee_per_kb", "5"}}), 400, "non-negative integer");
  expect_error(provider.post(provide, {{"fee_per_kb", 1001}}), 400, "at most 1000");
  expect_error(provider.post(provide, {{"fee_per_kb", 5}, {"colour", "red"}}), 400,
               "unknown field \"colour\"");
  expect_error(provider.post(provide, {{"fee_per_kb", 5}, {"address", 42}}), 400,
               "address must be a string");
  // The role's own checks come back as they are.
  expect_error(provider.post(provide, {{"fee_per_kb", 0}}), 400, "positive integer");
  expect_error(provider.post(provide, {{"fee_per_kb", 5}, {"address", "no-port"}}), 400,
               "HOST:PORT");
  expect_error(provider.call("POST", "/api/proxy/stop-providing", "{\"now\": true}"), 400, "body");

  // Malformed open requests and wrong states at the client.
  expect_error(client.post("/api/proxy/open", {{"provider", "not-a-peer"}}), 400, "provider");
  expect_error(client.post("/api/proxy/open", {{"provider", "best"}, {"x", 1}}), 400,
               "unknown field \"x\"");
  expect_error(client.call("POST", "/api/proxy/close", ""), 409, "no open proxy session");
  expect_error(client.call("GET", "/api/proxy/open", ""), 405, "");

  // A good request reaches the role: providing, then stopping.
  auto r = provider.post(provide, {{"fee_per_kb", 7}, {"address", "127.0.0.1:3128"}});
  INFO(r.text);
  REQUIRE(r.status == 200);
  CHECK(r.body["active"] == true);
  CHECK(r.body["fee_per_kb"] == 7);
  CHECK(r.body["address"] == "127.0.0.1:3128");
  auto usage = provider.get("/api/proxy/usage");
  REQUIRE(usage.status == 200);
  CHECK(usage.body["provider"].is_array());
  r = provider.call("POST", "/api/proxy/stop-providing", "");
  REQUIRE(r.status == 200);
  CHECK(r.body["active"] == false);
}
