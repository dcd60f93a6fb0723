// Many gossip roles in the deterministic harness: mesh maintenance,
// propagation, IHAVE/IWANT recovery, flooding for comparison.
#include "gossip_harness.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using gossip_test::harness;

namespace {

const std::string topic = "file-set";

bytes payload(int k) {
  bytes b(64);
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<std::uint8_t>(k * 31 + i);
  return b;
}

/// 100 nodes, each connecting to 10 random others, all in `topic`, run until
/// the meshes settled.
harness settled_network(gossip::config cfg, std::size_t n = 100, std::uint64_t seed = 1) {
  harness h(n, cfg, seed);
  h.random_graph(10);
  h.subscribe_all(topic);
  h.run_for(20 * us_per_s);
  return h;
}

} // namespace

TEST_CASE("gossip meshes of 100 nodes converge into D_lo..D_hi and are symmetric",
          "[gossip][network]") {
  auto h = settled_network({});
  // Sample half a heartbeat after a heartbeat, when no GRAFT/PRUNE is in flight.
  h.run_for(500 * us_per_ms);
  std::size_t total = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    auto mesh = h.role(i).mesh(topic);
    INFO("node " << i << " mesh size " << mesh.size());
    CHECK(mesh.size() >= 4);
    CHECK(mesh.size() <= 12);
    total += mesh.size();
    for (auto p : mesh) {
      CHECK(h.linked(i, p));
      CHECK(h.role(i).peer_subscribed(p, topic));
      auto other = h.role(p).mesh(topic);
      CHECK(std::find(other.begin(), other.end(), static_cast<peer_id>(i)) != other.end());
    }
  }
  // Average degree near D (each node grafts up to D, inbound grafts add to it).
  const double avg = static_cast<double>(total) / h.size();
  CHECK(avg >= 6);
  CHECK(avg <= 12);
  CHECK(h.total("frames_rejected") == 0);
  CHECK(h.total("gossip.graft_in_backoff") == 0);
}

TEST_CASE("gossip a message published by one of 100 nodes reaches every node once",
          "[gossip][network]") {
  auto h = settled_network({});
  int hook_calls = 0;
  bytes seen_data;
  h.role(5).set_delivery_hook([&](const gossip::delivery& d) {
    ++hook_calls;
    seen_data.assign(d.data.begin(), d.data.end());
    CHECK(d.topic == topic);
    CHECK_FALSE(d.local);
  });
  auto id = h.publish(17, topic, payload(1));
  h.run_for(5 * us_per_s);
  CHECK(h.reached(id) == 100);
  for (std::size_t i = 0; i < h.size(); ++i)
    CHECK(h.deliveries(i, id) == 1);
  CHECK(hook_calls == 1);
  CHECK(seen_data == payload(1));
  CHECK(h.counter(17, "gossip.published") == 1);
  CHECK(h.total("gossip.delivered") == 100);
  // Hops: the publisher delivers locally at 0, everyone else at >= 1.
  for (std::size_t i = 0; i < h.size(); ++i)
    for (auto& e : h.at(i).events)
      if (e.kind == "gossip_delivered" && *e.field("msg_id") == id)
        CHECK((i == 17 ? e.value("hops") == 0 : e.value("hops") >= 1));
}

TEST_CASE("gossip IHAVE and IWANT recover messages lost on every mesh link of a node",
          "[gossip][network]") {
  const std::size_t victim = 42;
  auto run = [&](gossip::config cfg) {
    auto h = settled_network(cfg);
    // Every MESSAGE frame sent to the victim by one of its mesh peers is lost.
    h.drop = [&h, victim](const gossip_test::sent_frame& f, byte_view) {
      if (f.to != victim || f.type != static_cast<std::uint8_t>(gossip::msg_type::message))
        return false;
      auto mesh = h.role(victim).mesh(topic);
      return std::find(mesh.begin(), mesh.end(), f.from) != mesh.end();
    };
    std::vector<std::string> ids;
    for (int k = 0; k < 5; ++k) {
      ids.push_back(h.publish(static_cast<std::size_t>(k * 13 + 1), topic, payload(100 + k)));
      h.run_for(300 * us_per_ms);
    }
    h.run_for(10 * us_per_s);
    std::size_t got = 0;
    for (auto& id : ids) {
      got += h.deliveries(victim, id) == 1;
      CHECK(h.reached(id) >= 99); // everyone else
    }
    return std::make_tuple(got, h.counter(victim, "gossip.iwant"), h.dropped);
  };

  auto [got, iwants, dropped] = run({});
  CHECK(dropped > 0);
  CHECK(got == 5);
  CHECK(iwants >= 1);

  // Without lazy gossip the same losses are not repaired.
  gossip::config no_gossip;
  no_gossip.d_lazy = 0;
  no_gossip.gossip_factor = 0;
  auto [got0, iwants0, dropped0] = run(no_gossip);
  CHECK(dropped0 > 0);
  CHECK(iwants0 == 0);
  CHECK(got0 == 0);
}

TEST_CASE("gossip flooding reaches every node with more duplicates than the mesh",
          "[gossip][network]") {
  auto run = [](bool flood) {
    gossip::config cfg;
    cfg.flood = flood;
    auto h = settled_network(cfg);
    std::vector<std::string> ids;
    for (int k = 0; k < 5; ++k) {
      ids.push_back(h.publish(static_cast<std::size_t>(k * 19 + 3), topic, payload(200 + k)));
      h.run_for(200 * us_per_ms);
    }
    h.run_for(5 * us_per_s);
    for (auto& id : ids) {
      CHECK(h.reached(id) == 100);
      for (std::size_t i = 0; i < h.size(); ++i)
        CHECK(h.deliveries(i, id) == 1);
    }
    if (flood)
      CHECK(h.total("gossip.graft") == 0);
    else
      CHECK(h.total("gossip.graft") > 0);
    return h.total("gossip.duplicates");
  };
  const double mesh_dups = run(false);
  const double flood_dups = run(true);
  INFO("duplicates: mesh " << mesh_dups << ", flooding " << flood_dups);
  CHECK(mesh_dups > 0);
  CHECK(flood_dups > 1.5 * mesh_dups);
}

TEST_CASE("gossip a sender of invalid messages is pruned and graylisted by every neighbour",
          "[gossip][network][score]") {
  const std::size_t bad = 7;
  auto cfg_of = [&](std::size_t i) {
    gossip::config c;
    if (i == bad)
      c.flood_publish = true; // reaches every neighbour directly
    return c;
  };
  harness h(100, cfg_of, 3);
  // Honest validators refuse payloads that start with 0xff.
  for (std::size_t i = 0; i < h.size(); ++i)
    if (i != bad)
      h.role(i).set_validator([](const std::string&, byte_view d, peer_id) {
        return !d.empty() && d[0] == 0xff ? gossip::validation::reject : gossip::validation::accept;
      });
  h.random_graph(10);
  h.subscribe_all(topic);
  h.run_for(20 * us_per_s);

  std::vector<std::size_t> neighbours;
  for (std::size_t i = 0; i < h.size(); ++i)
    if (i != bad && h.linked(i, bad))
      neighbours.push_back(i);
  REQUIRE(neighbours.size() >= 10);
  std::size_t had_bad_in_mesh = 0;
  for (auto n : neighbours) {
    auto m = h.role(n).mesh(topic);
    had_bad_in_mesh += std::find(m.begin(), m.end(), bad) != m.end();
  }
  REQUIRE(had_bad_in_mesh >= 4);

  std::vector<std::string> invalid_ids;
  for (int k = 0; k < 3; ++k) {
    bytes b = payload(300 + k);
    b[0] = 0xff;
    invalid_ids.push_back(h.publish(bad, topic, b));
  }
  h.run_for(3 * us_per_s);

  // Every neighbour saw exactly the three invalid messages, from `bad` only.
  CHECK(h.total("gossip.invalid") == 3.0 * neighbours.size());
  for (auto& id : invalid_ids)
    CHECK(h.reached(id) == 1); // only the sender itself
  const double graylist = gossip::config{}.score.graylist_threshold;
  for (auto n : neighbours) {
    INFO("neighbour " << n);
    auto m = h.role(n).mesh(topic);
    CHECK(std::find(m.begin(), m.end(), bad) == m.end());
    CHECK(h.role(n).score(bad) < graylist);
    CHECK(h.counter(n, "gossip.graylisted") == 1);
  }
  for (std::size_t i = 0; i < h.size(); ++i) {
    auto m = h.role(i).mesh(topic);
    CHECK(std::find(m.begin(), m.end(), bad) == m.end());
  }

  // A valid message of the graylisted node is ignored by all neighbours...
  auto ignored = h.publish(bad, topic, payload(400));
  h.run_for(3 * us_per_s);
  CHECK(h.reached(ignored) == 1);
  CHECK(h.total("gossip.graylisted_frames") >= neighbours.size());
  // ...while honest traffic still reaches every honest node.
  auto honest = h.publish(50, topic, payload(401));
  h.run_for(3 * us_per_s);
  CHECK(h.reached(honest) == 99);
  CHECK(h.deliveries(bad, honest) == 0);
  // Every honest mesh stays within bounds after dropping the bad peer.
  for (std::size_t i = 0; i < h.size(); ++i)
    if (i != bad)
      CHECK(h.role(i).mesh(topic).size() >= 4);
}

TEST_CASE("gossip a mesh peer that never forwards gets pruned for its delivery deficit",
          "[gossip][network][score]") {
  const std::size_t silent = 11;
  harness h(60, gossip::config{}, 5);
  h.random_graph(8);
  h.subscribe_all(topic);
  h.run_for(10 * us_per_s);
  // `silent` takes part in the mesh but drops every message it should send.
  h.drop = [&](const gossip_test::sent_frame& f, byte_view) {
    return f.from == silent && f.type == static_cast<std::uint8_t>(gossip::msg_type::message);
  };
  h.keep_log = true;
  // A busy topic: five messages a second from rotating honest publishers.
  std::vector<std::string> ids;
  for (int k = 0; k < 150; ++k) {
    std::size_t from = static_cast<std::size_t>(k % 59);
    if (from >= silent)
      ++from;
    ids.push_back(h.publish(from, topic, payload(1000 + k)));
    h.run_for(200 * us_per_ms);
  }
  h.run_for(2 * us_per_s);
  // Who pruned whom during the busy period.
  std::map<std::size_t, std::set<std::size_t>> pruned_by; // target -> pruners
  for (auto& [f, data] : h.log)
    if (f.type == static_cast<std::uint8_t>(gossip::msg_type::prune))
      pruned_by[f.to].insert(f.from);
  std::size_t mesh_neighbours = 0;
  for (std::size_t i = 0; i < h.size(); ++i)
    mesh_neighbours += h.linked(i, silent);
  std::size_t honest_pruned = 0;
  for (auto& [target, who] : pruned_by)
    if (target != silent)
      honest_pruned += who.size();
  INFO("silent pruned by " << pruned_by[silent].size() << " of " << mesh_neighbours
                           << " neighbours, honest prunes " << honest_pruned);
  CHECK(4 * pruned_by[silent].size() >= 3 * mesh_neighbours);
  // In a busy topic honest mesh peers keep delivering: no false positives.
  CHECK(honest_pruned == 0);
  // Everyone still gets everything: the silent node is routed around.
  for (auto& id : ids)
    CHECK(h.reached(id) == 60);
}

TEST_CASE("gossip no GRAFT crosses a PRUNE backoff in a network with churn",
          "[gossip][network][backoff]") {
  gossip::config cfg;
  cfg.d = 4; // small meshes: many refused GRAFTs and oversize prunes
  cfg.d_lo = 3;
  cfg.d_hi = 5;
  cfg.d_score = 2;
  harness h(60, cfg, 9);
  h.keep_log = true;
  h.random_graph(8);
  h.subscribe_all(topic);
  // Every 2 s a node leaves the topic and rejoins 3 s later (10 s backoff).
  rng churn(77);
  for (time_us t = 5 * us_per_s; t < 120 * us_per_s; t += 2 * us_per_s) {
    const auto n = static_cast<std::size_t>(churn.below(h.size()));
    h.schedule(t, [&h, n] { h.command(n, "unsubscribe", {topic}); });
    h.schedule(t + 3 * us_per_s, [&h, n] { h.command(n, "subscribe", {topic}); });
  }
  h.run_until(140 * us_per_s);

  struct prune_seen {
    time_us at;
    peer_id from, to;
    time_us backoff;
  };
  std::vector<prune_seen> prunes;
  std::map<std::pair<peer_id, peer_id>, std::vector<time_us>> grafts; // (from, to) -> times
  for (auto& [f, data] : h.log) {
    gossip::frame_body b;
    std::string err;
    REQUIRE(gossip::decode(data, gossip::limits::message_bytes_max, b, err));
    if (auto* p = std::get_if<gossip::prune_msg>(&b))
      prunes.push_back({f.at, f.from, f.to, time_us{p->backoff_s} * us_per_s});
    else if (std::get_if<gossip::graft_msg>(&b))
      grafts[{f.from, f.to}].push_back(f.at);
  }
  std::size_t unsub_prunes = 0, regrafts_after_backoff = 0;
  for (auto& p : prunes) {
    unsub_prunes += p.backoff == 10 * us_per_s;
    const time_us arrive = p.at + h.latency(p.from, p.to);
    // The pruner does not graft the pruned peer during the backoff...
    for (auto t : grafts[{p.from, p.to}])
      REQUIRE_FALSE((t > p.at && t < p.at + p.backoff));
    // ...and the pruned peer does not graft the pruner once it knows.
    for (auto t : grafts[{p.to, p.from}]) {
      INFO("PRUNE " << p.from << "->" << p.to << " at " << p.at << " GRAFT back at " << t);
      REQUIRE_FALSE((t >= arrive && t < arrive + p.backoff));
      regrafts_after_backoff += t >= arrive + p.backoff;
    }
  }
  INFO(prunes.size() << " prunes, " << unsub_prunes << " from unsubscribing");
  CHECK(prunes.size() >= 100);
  CHECK(unsub_prunes >= 50);
  CHECK(regrafts_after_backoff >= 10);
  CHECK(h.total("gossip.graft_in_backoff") == 0);
  // And the meshes are whole again at the end.
  h.run_for(500 * us_per_ms);
  for (std::size_t i = 0; i < h.size(); ++i) {
    CHECK(h.role(i).mesh(topic).size() >= 3);
    CHECK(h.role(i).mesh(topic).size() <= 5);
  }
}
