// Session behaviour over a controlled channel: delivery, fragmentation,
// truncation at every offset with recovery, replay, reordering, duplicates,
// wrong keys and spoofing, encryption, housekeeping, bounds.
#include "lockstep.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace droplog_test;

namespace {

std::vector<bytes> submit_all(session& s, std::size_t n, std::size_t size, std::uint64_t salt = 0) {
  std::vector<bytes> sent;
  for (std::size_t i = 0; i < n; ++i) {
    sent.push_back(message_body(i, size + i % 7, salt));
    REQUIRE(s.submit(view(sent.back())));
  }
  return sent;
}

void require_delivered(const std::vector<delivered_message>& got, const std::vector<bytes>& sent) {
  REQUIRE(got.size() == sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    INFO("message " << i);
    REQUIRE(got[i].data == sent[i]);
    if (i > 0)
      REQUIRE(got[i].id > got[i - 1].id);
  }
}

} // namespace

TEST_CASE("droplog session delivers messages both ways in order", "[droplog][session]") {
  session a(small_config(side_a, side_b)), b(small_config(side_b, side_a));
  auto to_b = submit_all(a, 50, 60);
  auto to_a = submit_all(b, 30, 90, 1);
  lockstep net{&a, &b};
  net.run();
  require_delivered(net.at_b, to_b);
  require_delivered(net.at_a, to_a);
  CHECK(a.outbox_entries() == 0);
  CHECK(b.outbox_entries() == 0);
  CHECK(a.stats().packets_rejected == 0);
  CHECK(a.stats().entries_retransmitted == 0);
  CHECK(b.stats().entries_retransmitted == 0);
}

TEST_CASE("droplog session fragments large messages and reassembles them", "[droplog][session]") {
  auto cfg = small_config(side_a, side_b);
  session a(cfg), b(small_config(side_b, side_a));
  std::vector<bytes> sent = {message_body(1, 10'000), message_body(2, 3), message_body(3, 256),
                             message_body(4, 257), bytes{}};
  std::vector<std::uint64_t> ids;
  for (auto& m : sent)
    ids.push_back(*a.submit(view(m)));
  // Ids are the seq of the first fragment: 10 000 bytes take 40 fragments of 256.
  CHECK(ids == std::vector<std::uint64_t>{0, 40, 41, 42, 44});
  lockstep net{&a, &b};
  net.run();
  require_delivered(net.at_b, sent);
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(net.at_b[i].id == ids[i]);
}

TEST_CASE("droplog session truncation of a small packet at every byte offset loses nothing",
          "[droplog][session][truncation]") {
  // One packet with six messages; for every cut the receiver delivers the
  // messages that arrived whole, NACKs the packet (when its header survived),
  // and the rest arrives once by retransmission.
  std::vector<bytes> sent;
  for (int i = 0; i < 6; ++i)
    sent.push_back(message_body(i, 40 + 13 * i));
  bytes first_packet;
  {
    session a(small_config(side_a, side_b));
    for (auto& m : sent)
      a.submit(view(m));
    auto p = a.poll(0);
    REQUIRE(p.packets.size() == 1);
    first_packet = p.packets[0].data;
  }
  const std::size_t control_end = header_bytes + control_size(control_block{});
  for (std::size_t cut = 0; cut < first_packet.size(); ++cut) {
    INFO("cut at " << cut);
    session a(small_config(side_a, side_b)), b(small_config(side_b, side_a));
    for (auto& m : sent)
      a.submit(view(m));
    auto p = a.poll(0);
    REQUIRE(p.packets[0].data == first_packet); // deterministic encoding
    auto r = b.on_packet(10'000, byte_view{first_packet.data(), cut});
    std::size_t whole = 0, end = control_end;
    while (whole < sent.size() && (end += frame_size(sent[whole].size())) <= cut)
      ++whole;
    REQUIRE(r.delivered.size() == whole);
    if (cut >= header_bytes) {
      REQUIRE(count_events(r.events, event_kind::packet_truncated) == 1);
      auto nack = b.poll(10'000); // NACK goes out at once, no ack delay
      REQUIRE(nack.packets.size() == 1);
      auto ra = a.on_packet(20'000, view(nack.packets[0].data));
      CHECK(count_events(ra.events, event_kind::nack_received) == 1);
    } else {
      REQUIRE(count_events(r.events, event_kind::packet_rejected) == 1);
    }
    lockstep net{&a, &b};
    net.now = 20'000;
    net.run();
    std::vector<delivered_message> all = r.delivered;
    all.insert(all.end(), net.at_b.begin(), net.at_b.end());
    require_delivered(all, sent);
    CHECK(a.outbox_entries() == 0);
    // Recovery by NACK is immediate; without a readable header only the timeout helps.
    if (cut >= header_bytes)
      CHECK(net.now < 500 * us_per_ms);
    else
      CHECK(net.now >= 1 * us_per_s);
  }
}

TEST_CASE("droplog session bit rot in a message keeps the intact prefix and recovers the rest",
          "[droplog][session][corruption]") {
  session a(small_config(side_a, side_b)), b(small_config(side_b, side_a));
  auto sent = submit_all(a, 6, 50);
  auto p = a.poll(0);
  REQUIRE(p.packets.size() == 1);
  bytes rotten = p.packets[0].data;
  const std::size_t third = header_bytes + control_size(control_block{}) +
                            frame_size(sent[0].size()) + frame_size(sent[1].size()) + 30;
  rotten[third] ^= 0x04;
  auto r = b.on_packet(1000, view(rotten));
  REQUIRE(r.delivered.size() == 2);
  CHECK(count_events(r.events, event_kind::packet_damaged) == 1);
  CHECK(b.stats().nacks_sent == 1);
  lockstep net{&a, &b};
  net.now = 1000;
  net.run();
  std::vector<delivered_message> all = r.delivered;
  all.insert(all.end(), net.at_b.begin(), net.at_b.end());
  require_delivered(all, sent);
}

TEST_CASE("droplog session corrupted header bytes reject the whole packet",
          "[droplog][session][corruption]") {
  session a(small_config(side_a, side_b));
  submit_all(a, 3, 30);
  bytes p = a.poll(0).packets.at(0).data;
  for (std::size_t at = 0; at < header_bytes; ++at) {
    session b(small_config(side_b, side_a));
    bytes q = p;
    q[at] ^= 0x80;
    auto r = b.on_packet(5, view(q));
    INFO("byte " << at);
    CHECK(r.delivered.empty());
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].kind == event_kind::packet_rejected);
    CHECK(b.stats().packets_rejected == 1);
    CHECK(b.poll(5).packets.empty()); // nothing authentic to NACK
  }
}

TEST_CASE("droplog session rejects wrong keys, spoofed senders and other pairs",
          "[droplog][session][auth]") {
  session a(small_config(side_a, side_b));
  submit_all(a, 3, 30);
  bytes p = a.poll(0).packets.at(0).data;

  auto wrong = small_config(side_b, side_a);
  wrong.shared_key = "a different shared key, 32 bytes";
  session b_wrong(wrong);
  auto r = b_wrong.on_packet(1, view(p));
  CHECK(r.delivered.empty());
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].detail.rfind("bad_header_tag", 0) == 0);

  // A third party that knows the id scheme but not the key forges A's packets.
  auto mallory = small_config(side_a, side_b);
  mallory.shared_key = "mallory's own key of 32 bytes...";
  session forger(mallory);
  forger.submit(view(message_body(0, 30)));
  bytes forged = forger.poll(0).packets.at(0).data;
  session b(small_config(side_b, side_a));
  auto rf = b.on_packet(1, view(forged));
  CHECK(rf.delivered.empty());
  CHECK(count_events(rf.events, event_kind::packet_rejected) == 1);

  // The genuine packet offered to the wrong session: another recipient, or reflected.
  session c(small_config(0x0c0c, side_a));
  CHECK(c.on_packet(1, view(p)).events.at(0).detail.rfind("wrong_pair", 0) == 0);
  CHECK(a.on_packet(1, view(p)).events.at(0).detail.rfind("wrong_pair", 0) == 0);

  // Splicing: A's header with a message from a forged packet.
  bytes spliced = p;
  std::copy(forged.begin() + header_bytes, forged.end(), spliced.begin() + header_bytes);
  auto rs = b.on_packet(2, view(spliced));
  CHECK(rs.delivered.empty());
  CHECK(b.stats().packets_rejected + b.stats().packets_damaged == 2);

  auto good = b.on_packet(3, view(p));
  CHECK(good.delivered.size() == 3);
}

TEST_CASE("droplog session ignores replayed and duplicate packets", "[droplog][session][replay]") {
  session a(small_config(side_a, side_b)), b(small_config(side_b, side_a));
  std::vector<bytes> log;
  lockstep net{&a, &b};
  net.filter = [&](bool from_a, bytes& p) {
    if (from_a)
      log.push_back(p);
    return true;
  };
  auto sent = submit_all(a, 40, 100);
  net.run();
  require_delivered(net.at_b, sent);
  REQUIRE(log.size() >= 2);
  // Every old packet again, newest first: nothing is delivered twice.
  for (auto it = log.rbegin(); it != log.rend(); ++it) {
    auto r = b.on_packet(net.now, view(*it));
    CHECK(r.delivered.empty());
    CHECK(count_events(r.events, event_kind::packet_duplicate) == 1);
  }
  CHECK(b.stats().packets_duplicate == log.size());
  // Duplicates may cause an ack, never a NACK, and never more than one ack packet.
  auto ack = b.poll(net.now + 1 * us_per_s);
  CHECK(ack.packets.size() == 1);
  CHECK_FALSE(ack.packets[0].carries_messages);
  CHECK(b.stats().nacks_sent == 0);
}

TEST_CASE("droplog session reordered packets are delivered in log order",
          "[droplog][session][reorder]") {
  auto cfg = small_config(side_a, side_b);
  cfg.initial_packet_bytes = cfg.min_packet_bytes; // several packets
  session a(cfg), b(small_config(side_b, side_a));
  auto sent = submit_all(a, 20, 150);
  auto p = a.poll(0);
  REQUIRE(p.packets.size() >= 4);
  std::vector<delivered_message> got;
  // Last packet first; the first packet arrives last and releases everything.
  for (std::size_t i = p.packets.size(); i-- > 0;) {
    auto r = b.on_packet(10, view(p.packets[i].data));
    if (i > 0)
      CHECK(r.delivered.empty());
    got.insert(got.end(), r.delivered.begin(), r.delivered.end());
  }
  require_delivered(got, sent);
  // And the same packets shuffled a second time change nothing.
  for (auto& pk : p.packets)
    CHECK(b.on_packet(20, view(pk.data)).delivered.empty());
  // The ack covers every packet and message: no retransmission follows.
  auto ack = b.poll(10 + cfg.max_ack_delay);
  REQUIRE(ack.packets.size() == 1);
  a.on_packet(100, view(ack.packets[0].data));
  CHECK(a.outbox_entries() == 0);
  CHECK(a.poll(100).packets.empty());
}

TEST_CASE("droplog session NACKs a truncated packet once even if copies repeat",
          "[droplog][session][nack]") {
  auto cfg = small_config(side_b, side_a);
  cfg.nack_repeat = 3;
  cfg.adaptive_repeat = false;
  session a(small_config(side_a, side_b)), b(cfg);
  submit_all(a, 5, 100);
  bytes p = a.poll(0).packets.at(0).data;
  byte_view cut{p.data(), p.size() - 10};
  b.on_packet(1, cut);
  b.on_packet(2, cut); // a duplicate of the truncated copy
  CHECK(b.stats().nacks_sent == 1);
  // The NACK rides in exactly nack_repeat packets.
  auto reply = submit_all(b, 3, 20, 9);
  std::size_t with_nack = 0;
  for (int i = 0; i < 6; ++i) {
    b.submit(view(message_body(100 + i, 900)));
    for (auto& pk : b.poll(100 + i).packets) {
      auto d = decode_packet(view(pk.data), direction_keys(test_key, side_b, side_a), {});
      REQUIRE(d.packet.control);
      with_nack += !d.packet.control->nacks.empty();
    }
  }
  CHECK(with_nack == 3);
}

TEST_CASE("droplog session repeats acks and NACKs more often when incoming files are damaged",
          "[droplog][session][nack]") {
  // Counts the ack-only packets B writes, one poll per nack_interval, after
  // it received `damaged` truncated packets and one intact one.
  auto ack_only_packets = [](int damaged) {
    auto cb = small_config(side_b, side_a);
    cb.nacks_per_packet = 64; // all pending NACKs fit into each packet
    cb.min_packet_bytes = 2048;
    session a(small_config(side_a, side_b)), b(cb);
    time_us t = 0;
    for (int i = 0; i < damaged; ++i) {
      a.submit(view(message_body(i, 100)));
      bytes p = a.poll(t).packets.at(0).data;
      b.on_packet(t, byte_view{p.data(), header_bytes + 5});
      t += 1000;
    }
    a.submit(view(message_body(99, 100)));
    auto p = a.poll(t).packets;
    b.on_packet(t, view(p.at(0).data));
    std::size_t n = 0;
    for (int i = 0; i < 40; ++i, t += 50 * us_per_ms)
      n += b.poll(t).packets.size();
    return n;
  };
  // Clean channel: one ack, no repeats.
  CHECK(ack_only_packets(0) == 1);
  // After 40 damaged files the damage rate is ~0.92: NACKs and the ack get the
  // cap of nack_repeat (5) copies, coalesced into shared ack-only packets.
  CHECK(ack_only_packets(40) == 5);
}

TEST_CASE("droplog session encrypted sessions interoperate and reject plaintext peers",
          "[droplog][session][encryption]") {
  auto ca = small_config(side_a, side_b), cb = small_config(side_b, side_a);
  ca.encrypt = cb.encrypt = true;
  session a(ca), b(cb);
  auto sent = submit_all(a, 10, 300);
  lockstep net{&a, &b};
  net.run();
  require_delivered(net.at_b, sent);

  session plain_a(small_config(side_a, side_b));
  plain_a.submit(view(sent[0]));
  session enc_b(cb);
  auto r = enc_b.on_packet(0, view(plain_a.poll(0).packets.at(0).data));
  CHECK(r.delivered.empty());
  CHECK(count_events(r.events, event_kind::packet_rejected) == 1);
}

TEST_CASE("droplog session compression shrinks what crosses the channel",
          "[droplog][session][compression]") {
  auto ca = small_config(side_a, side_b);
  ca.compress = true;
  ca.fragment_bytes = 512;
  ca.min_packet_bytes = 2048;
  auto cb = small_config(side_b, side_a);
  cb.fragment_bytes = 512;
  cb.min_packet_bytes = 2048;
  session a(ca), b(cb);
  std::vector<bytes> sent;
  for (int i = 0; i < 20; ++i)
    sent.push_back(bytes(2000, static_cast<std::uint8_t>('a' + i)));
  for (auto& m : sent)
    a.submit(view(m));
  lockstep net{&a, &b};
  net.run();
  require_delivered(net.at_b, sent);
  CHECK(a.stats().bytes_sent < 20 * 2000 / 4);
}

TEST_CASE("droplog session housekeeping names packets both sides are done with",
          "[droplog][session][housekeeping]") {
  session a(small_config(side_a, side_b)), b(small_config(side_b, side_a));
  std::vector<std::uint64_t> a_data_ids;
  bool recording = true;
  lockstep net{&a, &b};
  net.filter = [&](bool from_a, bytes& p) {
    auto r = peek_route(view(p));
    if (from_a && recording && p.size() > 200)
      a_data_ids.push_back(r->packet_id);
    return true;
  };
  submit_all(a, 30, 200);
  net.run();
  recording = false;
  // A knows B has everything; B learns that from the ack-of-ack in A's next
  // packet (here: A's ack of a message from B), and may then drop its files.
  CHECK(b.take_deletable().empty());
  submit_all(b, 1, 10, 3);
  net.run();
  REQUIRE_FALSE(a_data_ids.empty());
  std::set<std::uint64_t> out_a, in_b;
  for (auto& d : a.take_deletable())
    if (d.side == folder_side::outgoing)
      out_a.insert(d.packet_id);
  for (auto& d : b.take_deletable())
    if (d.side == folder_side::incoming)
      in_b.insert(d.packet_id);
  for (auto id : a_data_ids) {
    CHECK(out_a.count(id) == 1);
    CHECK(in_b.count(id) == 1);
  }
  CHECK(a.take_deletable().empty()); // reported once
}

TEST_CASE("droplog session bounds the outbox and refuses bad configurations",
          "[droplog][session][bounds]") {
  auto cfg = small_config(side_a, side_b);
  cfg.max_outbox_entries = 10;
  session a(cfg);
  std::string why;
  CHECK(a.submit(view(message_body(0, 256 * 8)), &why));
  CHECK_FALSE(a.submit(view(message_body(1, 256 * 3)), &why));
  CHECK(why.find("outbox full") != std::string::npos);
  CHECK(a.submit(view(message_body(2, 256 * 2))));

  auto bad = small_config(side_a, side_a);
  CHECK_THROWS_WITH(session(bad), Catch::Contains("local and remote"));
  bad = small_config(side_a, side_b);
  bad.shared_key = "short";
  CHECK_THROWS_WITH(session(bad), Catch::Contains("shared_key"));
  bad = small_config(side_a, side_b);
  bad.fragment_bytes = 4096;
  CHECK_THROWS_WITH(session(bad), Catch::Contains("min_packet_bytes"));
  for (double share : {0.0, -0.5, 1.5}) {
    bad = small_config(side_a, side_b);
    bad.erasure_coding = true;
    bad.coding_repair_share = share;
    CHECK_THROWS_WITH(session(bad), Catch::Contains("coding_repair_share"));
  }
}

TEST_CASE("droplog session several pairs share one store without crosstalk",
          "[droplog][session][pairs]") {
  memory_kv kv;
  constexpr peer_id side_c = 0x0c0c;
  session ab(small_config(side_a, side_b), &kv), ac(small_config(side_a, side_c), &kv);
  session b(small_config(side_b, side_a)), c(small_config(side_c, side_a));
  auto to_b = submit_all(ab, 10, 50, 1);
  auto to_c = submit_all(ac, 12, 70, 2);
  // Both of A's sessions write into one folder: route each file by its header.
  std::vector<bytes> folder;
  for (auto* s : {&ab, &ac})
    for (auto& p : s->poll(0).packets)
      folder.push_back(p.data);
  std::vector<delivered_message> got_b, got_c;
  for (auto& f : folder) {
    auto r = peek_route(view(f));
    REQUIRE(r);
    auto& target = r->recipient == side_b ? b : c;
    auto res = target.on_packet(1, view(f));
    (r->recipient == side_b ? got_b : got_c)
      .insert((r->recipient == side_b ? got_b : got_c).end(), res.delivered.begin(),
              res.delivered.end());
    // Offered to the other pair's session, the same file is refused.
    auto& other = r->recipient == side_b ? c : b;
    CHECK(other.on_packet(1, view(f)).delivered.empty());
  }
  require_delivered(got_b, to_b);
  require_delivered(got_c, to_c);
  CHECK(kv.count(sessions_table()) == 2); // one row of counters per pair
}
