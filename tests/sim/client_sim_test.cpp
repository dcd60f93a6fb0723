// The client role in the simulator: user commands (join, announce, fetch) as
// scenario commands, composed from kad and the downloader through local
// commands that travel the simulator's event queue.
#include "sim_helpers.hpp"

#include "protocols/common/command.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

using namespace peerlab;

namespace {

nlohmann::json client_world(const std::string& hash) {
  auto j = nlohmann::json::parse(R"({
    "name": "client_fetch", "seed": 21, "duration": "3m",
    "groups": [
      {"name": "boot", "count": 1, "roles": ["kad", "client"]},
      {"name": "seeders", "count": 4, "roles": ["kad", "provider", "client"]},
      {"name": "leechers", "count": 3, "roles": ["kad", "downloader", "client"]},
      {"name": "lonely", "count": 1, "roles": ["kad", "client"]}
    ],
    "network": {"latency": {"model": "uniform", "min": "10ms", "max": "40ms"},
                "bandwidth": {"up": "20Mbit/s", "down": "50Mbit/s"}},
    "workload": [
      {"kind": "files", "name": "media", "count": 1, "size": "100KiB", "providers": ["seeders"],
       "replicas": 4}
    ]
  })");
  if (hash.empty())
    return j;
  auto cmd = [&](const char* at, const char* group, const char* verb,
                 std::vector<std::string> args) {
    j["workload"].push_back({{"kind", "command"},
                             {"at", at},
                             {"group", group},
                             {"role", "client"},
                             {"verb", verb},
                             {"args", args}});
  };
  cmd("1s", "boot", "join", {});
  for (auto g : {"seeders", "leechers", "lonely"})
    cmd("2s", g, "join", {"0"});
  cmd("10s", "seeders", "announce", {hash});
  cmd("30s", "leechers", "fetch", {hash});
  cmd("30s", "lonely", "fetch", {hash});
  cmd("40s", "leechers", "fetch", {std::string(63, '0') + "1"}); // nobody provides it
  cmd("50s", "leechers", "fetch", {"not-a-hash"});
  return j;
}

struct client_run {
  std::string fingerprint;
  std::map<std::string, int> kinds;          // client replies by kind
  std::map<std::string, int> failure_reason; // fetch_failed reasons
  std::vector<double> failed_codes;          // command_failed codes from the client
};

client_run run_client(const nlohmann::json& j, sim::engine eng) {
  client_run out;
  sim::sim_options o;
  o.eng = eng;
  o.on_event = [&](std::uint32_t, time_us, const event& e) {
    if (e.command_id == 0 || issuer_port(e.command_id) != 0)
      return; // only answers to the scenario's commands
    ++out.kinds[e.kind];
    if (e.kind == "fetch_failed")
      ++out.failure_reason[*e.field("reason")];
    if (e.kind == "command_failed")
      out.failed_codes.push_back(e.value("code"));
  };
  sim::simulator s(test::parse(j), o);
  s.run();
  out.fingerprint = s.chain().hex();
  return out;
}

} // namespace

TEST_CASE("client: join, announce and fetch run over kad and the downloader in the simulator",
          "[sim][client]") {
  std::string hash;
  {
    sim::simulator s(test::parse(client_world("")), {});
    REQUIRE(s.catalog().size() == 1);
    hash = to_hex(s.catalog().at(0).hash);
  }
  auto j = client_world(hash);
  auto a = run_client(j, sim::engine::actors);
  CHECK(a.kinds["joined"] == 9);
  CHECK(a.kinds["announced"] == 4);
  CHECK(a.kinds["fetch_done"] == 3);
  // The node without a downloader hears so from the simulator (503) and ends
  // the fetch; the unprovided hash ends after the wait; bad text is refused.
  CHECK(a.kinds["fetch_failed"] == 4);
  CHECK(a.failure_reason["this node runs no file_downloader role"] == 1);
  CHECK(a.failure_reason["no provider found in the DHT"] == 3);
  CHECK(a.kinds["command_failed"] == 3);
  for (auto c : a.failed_codes)
    CHECK(c == 400);

  auto b = run_client(j, sim::engine::actors);
  auto d = run_client(j, sim::engine::direct);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.fingerprint == d.fingerprint);
  CHECK(a.kinds == d.kinds);
}
