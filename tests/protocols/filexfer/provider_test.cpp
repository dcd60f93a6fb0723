// Provider role driven directly: metadata answers, content streaming in
// turns, range checks, the upload bound and the misbehaving strategies.
#include "protocols/common/limits.hpp"
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/filexfer/provider.hpp"
#include "tests/kit/lockstep_network.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::filexfer;
using peerlab::test_kit::make_file;

namespace {

// A provider node plus helpers that run its timers until it goes quiet and
// collect what it sent.
struct harness {
  test_kit::node n;
  std::shared_ptr<provider> logic;
  provider* p = nullptr;
  std::vector<message> out; // decoded frames sent, in order
  std::vector<peer_id> to;
  std::size_t rejected = 0;
  std::map<std::string, double> counters; // counter metrics, summed
  std::size_t turns = 0;

  explicit harness(provider_config cfg, std::uint64_t seed = 5) {
    logic = std::make_shared<provider>(cfg);
    p = logic.get();
    n.roles[ports::file_provider] = logic;
    n.id = 100;
    n.random.reseed(seed);
    effects fx;
    auto c = n.ctx(0);
    logic->start(c, fx);
  }

  void deliver(peer_id from, const bytes& f) {
    effects fx;
    auto c = n.ctx(0);
    logic->frame(c, from, f, fx);
    drain(fx);
  }

  // Applies effects; fires zero-delay turn timers until none are left.
  void drain(effects& fx) {
    while (true) {
      for (auto& f : fx.frames) {
        auto d = decode(f.data);
        REQUIRE(d.ok());
        out.push_back(d.msg);
        to.push_back(f.to);
      }
      for (auto& m : fx.metrics) {
        if (std::string(m.name) == "frames_rejected")
          rejected += static_cast<std::size_t>(m.value);
        if (m.is_counter)
          counters[m.name] += m.value;
      }
      auto timers = fx.timers;
      fx.clear();
      if (timers.empty())
        return;
      for (auto& t : timers) {
        CHECK(t.delay == 0);
        ++turns;
        auto c = n.ctx(0);
        logic->timer(c, t.token, fx);
      }
    }
  }

  template <class M>
  std::vector<M> sent() const {
    std::vector<M> v;
    for (auto& m : out)
      if (auto* x = std::get_if<M>(&m))
        v.push_back(*x);
    return v;
  }
};

} // namespace

TEST_CASE("filexfer provider answers metadata for files it has") {
  harness h({});
  auto file = make_file(1, 1000);
  digest hash = h.n.content.add_file("song.ogg", file, 77);
  h.deliver(7, encode(meta_req{11, hash}));
  REQUIRE(h.out.size() == 1);
  CHECK(h.to[0] == 7);
  CHECK(std::get<meta_ok>(h.out[0]) == meta_ok{11, "song.ogg", 77, 1000});
}

TEST_CASE("filexfer provider refuses metadata for unknown files") {
  harness h({});
  digest other{};
  other[3] = 9;
  h.deliver(7, encode(meta_req{12, other}));
  REQUIRE(h.out.size() == 1);
  auto e = std::get<meta_err>(h.out[0]);
  CHECK(e.req_id == 12);
  CHECK(e.code == error_code::not_provider);
}

TEST_CASE("filexfer provider streams a range in chunks then CONTENT_END") {
  provider_config cfg;
  cfg.chunk_bytes = 300; // caps the 400 the downloader asks for
  harness h(cfg);
  auto file = make_file(2, 5000);
  digest hash = h.n.content.add_file("a", file);
  h.deliver(7, encode(content_req{21, hash, 1000, 1000, 400}));
  auto chunks = h.sent<content_chunk>();
  REQUIRE(chunks.size() == 4); // 300 + 300 + 300 + 100
  std::uint64_t off = 1000;
  for (auto& c : chunks) {
    CHECK(c.req_id == 21);
    CHECK(c.offset == off);
    CHECK(c.ref == chunks[0].ref); // one payment reference per request
    CHECK(bytes(file.begin() + off, file.begin() + off + c.data.size()) == c.data);
    off += c.data.size();
  }
  CHECK(off == 2000);
  CHECK(chunks[0].ref != payment_ref{});
  auto ends = h.sent<content_end>();
  REQUIRE(ends.size() == 1);
  CHECK(ends[0] == content_end{21, 1000});
  CHECK(std::holds_alternative<content_end>(h.out.back()));
  CHECK(h.p->active_uploads() == 0);
}

TEST_CASE("filexfer provider payment references differ between requests") {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(3, 100));
  h.deliver(7, encode(content_req{1, hash, 0, 100, 100}));
  h.deliver(7, encode(content_req{2, hash, 0, 100, 100}));
  auto chunks = h.sent<content_chunk>();
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0].ref != chunks[1].ref);
}

TEST_CASE("filexfer provider rejects ranges outside the file and unknown files") {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(4, 100));
  h.deliver(7, encode(content_req{1, hash, 50, 51, 10}));
  h.deliver(7, encode(content_req{2, hash, 101, 1, 10}));
  digest unknown{};
  h.deliver(7, encode(content_req{3, unknown, 0, 1, 10}));
  REQUIRE(h.out.size() == 3);
  CHECK(std::get<content_err>(h.out[0]).code == error_code::bad_range);
  CHECK(std::get<content_err>(h.out[1]).code == error_code::bad_range);
  CHECK(std::get<content_err>(h.out[2]).code == error_code::not_provider);
  // The last byte of the file is fine.
  h.deliver(7, encode(content_req{4, hash, 99, 1, 10}));
  CHECK(h.sent<content_chunk>().size() == 1);
}

TEST_CASE("filexfer provider shares turns between large requests") {
  harness h({});
  auto file = make_file(5, 3 << 20);
  digest hash = h.n.content.add_file("big", file);
  effects fx;
  auto c = h.n.ctx(0);
  for (std::uint64_t id = 1; id <= 2; ++id)
    h.logic->frame(c, 7 + id, encode(content_req{id, hash, 0, 3u << 20, 64u << 10}), fx);
  CHECK(fx.frames.empty()); // nothing is sent before the first turn
  h.drain(fx);
  // 6 MiB in 1 MiB turns: at least 6 turns, and the two streams interleave.
  CHECK(h.turns >= 6);
  auto chunks = h.sent<content_chunk>();
  REQUIRE(chunks.size() == 96);
  CHECK(chunks[0].req_id != chunks[1].req_id);
  CHECK(h.sent<content_end>().size() == 2);
}

TEST_CASE("filexfer provider ignores a duplicated request it is serving") {
  provider_config cfg;
  cfg.chunk_bytes = 500; // below chunk_bytes_min: a provider's own small chunks stand
  harness h(cfg);
  digest hash = h.n.content.add_file("a", make_file(6, 1000));
  effects fx;
  auto c = h.n.ctx(0);
  auto req = encode(content_req{1, hash, 0, 1000, 500});
  h.logic->frame(c, 7, req, fx);
  h.logic->frame(c, 7, req, fx);
  CHECK(h.p->active_uploads() == 1);
  // The same id from another peer is a different request.
  h.logic->frame(c, 8, req, fx);
  CHECK(h.p->active_uploads() == 2);
  h.drain(fx);
  CHECK(h.sent<content_chunk>().size() == 4);
}

TEST_CASE("filexfer provider answers busy past max_active_uploads") {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(7, 4096));
  effects fx;
  auto c = h.n.ctx(0);
  // One peer each: requests of one peer for the same bytes would supersede each other.
  for (std::uint64_t id = 1; id <= limits::active_uploads_max + 1; ++id)
    h.logic->frame(c, 1000 + id, encode(content_req{id, hash, 0, 4096, 1024}), fx);
  CHECK(h.p->active_uploads() == limits::active_uploads_max);
  REQUIRE(fx.frames.size() == 1);
  auto e = std::get<content_err>(decode(fx.frames[0].data).msg);
  CHECK(e.req_id == limits::active_uploads_max + 1);
  CHECK(e.code == error_code::busy);
  fx.frames.clear();
  h.drain(fx);
  CHECK(h.p->active_uploads() == 0);
  CHECK(h.sent<content_end>().size() == limits::active_uploads_max);
}

TEST_CASE("filexfer corrupt_content provider changes every chunk, deterministically") {
  provider_config cfg;
  cfg.strategy = provider_strategy::corrupt_content;
  cfg.chunk_bytes = 1000;
  auto run = [&](std::uint64_t seed) {
    harness h(cfg, seed);
    auto file = make_file(8, 4000);
    digest hash = h.n.content.add_file("a", file);
    h.deliver(7, encode(content_req{1, hash, 0, 4000, 1000}));
    auto chunks = h.sent<content_chunk>();
    REQUIRE(chunks.size() == 4);
    for (auto& ch : chunks)
      CHECK(ch.data != bytes(file.begin() + ch.offset, file.begin() + ch.offset + ch.data.size()));
    return chunks;
  };
  CHECK(run(1) == run(1));
  CHECK(run(1) != run(2));
}

TEST_CASE("filexfer truncate_content provider stops at half the file") {
  provider_config cfg;
  cfg.strategy = provider_strategy::truncate_content;
  harness h(cfg);
  digest hash = h.n.content.add_file("a", make_file(9, 1000));
  h.deliver(7, encode(content_req{1, hash, 0, 1000, 100}));
  h.deliver(7, encode(content_req{2, hash, 600, 400, 100}));
  std::uint64_t bytes_for_1 = 0, bytes_for_2 = 0;
  for (auto& c : h.sent<content_chunk>())
    (c.req_id == 1 ? bytes_for_1 : bytes_for_2) += c.data.size();
  CHECK(bytes_for_1 == 500);
  CHECK(bytes_for_2 == 0);
  auto ends = h.sent<content_end>();
  REQUIRE(ends.size() == 2);
  CHECK(ends[0] == content_end{1, 500});
  CHECK(ends[1] == content_end{2, 0});
}

TEST_CASE("filexfer silent provider answers metadata but sends no content") {
  provider_config cfg;
  cfg.strategy = provider_strategy::silent;
  harness h(cfg);
  digest hash = h.n.content.add_file("a", make_file(10, 1000));
  h.deliver(7, encode(meta_req{1, hash}));
  h.deliver(7, encode(content_req{2, hash, 0, 1000, 100}));
  REQUIRE(h.out.size() == 1);
  CHECK(std::holds_alternative<meta_ok>(h.out[0]));
  CHECK(h.p->active_uploads() == 0);
}

TEST_CASE("filexfer provider counts and ignores malformed and misdirected frames") {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(11, 100));
  bytes req = encode(meta_req{1, hash});
  req.pop_back();
  h.deliver(7, req);
  h.deliver(7, encode(content_end{1, 5})); // a reply type, wrong port
  h.deliver(7, bytes{});
  CHECK(h.out.empty());
  CHECK(h.rejected == 3);
}

TEST_CASE("filexfer provider ignores turn timers from before a restart") {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(12, 1000));
  effects fx;
  auto c = h.n.ctx(0);
  h.logic->frame(c, 7, encode(content_req{1, hash, 0, 1000, 100}), fx);
  REQUIRE(fx.timers.size() == 1);
  auto old_token = fx.timers[0].token;
  fx.clear();
  h.logic->start(c, fx); // crash and restart: the stream is gone
  h.logic->timer(c, old_token, fx);
  CHECK(fx.frames.empty());
  CHECK(h.p->active_uploads() == 0);
}

namespace {

// Bytes each request's chunks covered, as [begin, end) runs merged in order.
std::vector<std::pair<std::uint64_t, std::uint64_t>> runs_of(const harness& h,
                                                             std::uint64_t req_id) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;
  for (auto& c : h.sent<content_chunk>()) {
    if (c.req_id != req_id)
      continue;
    std::uint64_t e = c.offset + c.data.size();
    if (!runs.empty() && runs.back().second == c.offset)
      runs.back().second = e;
    else
      runs.emplace_back(c.offset, e);
  }
  return runs;
}

// A 3 MiB upload whose first turn (1 MiB) went out, then `newer` from `peer`.
harness after_first_turn(const content_req& newer, peer_id peer, digest* hash_out = nullptr) {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(13, 3u << 20));
  if (hash_out)
    *hash_out = hash;
  effects fx;
  auto c = h.n.ctx(0);
  h.logic->frame(c, 7, encode(content_req{1, hash, 0, 3u << 20, 64 << 10}), fx);
  REQUIRE(fx.timers.size() == 1);
  auto turn = fx.timers[0].token;
  fx.clear();
  h.logic->timer(c, turn, fx); // sends [0, 1 MiB), schedules the next turn
  content_req r = newer;
  r.hash = hash;
  h.logic->frame(c, peer, encode(r), fx);
  h.drain(fx);
  return h;
}

} // namespace

TEST_CASE("filexfer provider stops an upload whose unsent bytes a newer request covers") {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(14, 8000));
  effects fx;
  auto c = h.n.ctx(0);
  h.logic->frame(c, 7, encode(content_req{1, hash, 0, 8000, 1000}), fx);
  h.logic->frame(c, 7, encode(content_req{2, hash, 0, 8000, 1000}), fx);
  h.drain(fx);
  CHECK(runs_of(h, 1).empty());
  CHECK(runs_of(h, 2) == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 8000}});
  auto ends = h.sent<content_end>();
  REQUIRE(ends.size() == 1); // the superseded upload ends silently
  CHECK(ends[0].req_id == 2);
  CHECK(ends[0].bytes_sent == 8000);
  CHECK(h.counters["filexfer.superseded_uploads"] == 1);
  CHECK(h.counters["filexfer.superseded_bytes"] == 8000);
  CHECK(h.counters["filexfer.bytes_sent"] == 8000);
  CHECK(h.p->active_uploads() == 0);
}

TEST_CASE("filexfer provider trims the tail or the head of an upload a newer request takes over") {
  using runs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  const std::uint64_t mib = 1u << 20;
  SECTION("tail") {
    harness h = after_first_turn(content_req{2, {}, mib + mib / 2, 3 * mib / 2, 64 << 10}, 7);
    CHECK(runs_of(h, 1) == runs{{0, mib + mib / 2}});
    CHECK(runs_of(h, 2) == runs{{mib + mib / 2, 3 * mib}});
    auto ends = h.sent<content_end>();
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].req_id == 2);
    CHECK(h.counters["filexfer.superseded_bytes"] == 3 * mib / 2);
    CHECK(h.counters["filexfer.bytes_sent"] == 3 * mib); // every byte once
  }
  SECTION("head") {
    harness h = after_first_turn(content_req{2, {}, mib, mib, 64 << 10}, 7);
    CHECK(runs_of(h, 1) == runs{{0, mib}, {2 * mib, 3 * mib}});
    CHECK(runs_of(h, 2) == runs{{mib, 2 * mib}});
    auto ends = h.sent<content_end>();
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].req_id == 2);
    CHECK(h.counters["filexfer.bytes_sent"] == 3 * mib);
  }
  SECTION("bytes already sent are not taken over") {
    harness h = after_first_turn(content_req{2, {}, 0, mib, 64 << 10}, 7);
    CHECK(runs_of(h, 1) == runs{{0, 3 * mib}});
    CHECK(runs_of(h, 2) == runs{{0, mib}});
    CHECK(h.sent<content_end>().size() == 2);
    CHECK(h.counters["filexfer.superseded_bytes"] == 0);
  }
  SECTION("another peer's request changes nothing") {
    harness h = after_first_turn(content_req{2, {}, mib, 2 * mib, 64 << 10}, 8);
    CHECK(runs_of(h, 1) == runs{{0, 3 * mib}});
    CHECK(runs_of(h, 2) == runs{{mib, 3 * mib}});
    CHECK(h.sent<content_end>().size() == 2);
  }
}

TEST_CASE("filexfer provider keeps uploads of other files of the same peer") {
  harness h({});
  digest a = h.n.content.add_file("a", make_file(15, 4000));
  digest b = h.n.content.add_file("b", make_file(16, 4000));
  effects fx;
  auto c = h.n.ctx(0);
  h.logic->frame(c, 7, encode(content_req{1, a, 0, 4000, 1000}), fx);
  h.logic->frame(c, 7, encode(content_req{2, b, 0, 4000, 1000}), fx);
  h.drain(fx);
  CHECK(h.sent<content_end>().size() == 2);
  CHECK(h.counters["filexfer.bytes_sent"] == 8000);
}

TEST_CASE("filexfer provider raises 1-byte chunks to the minimum chunk size") {
  harness h({}); // 64 KiB chunks of its own
  digest hash = h.n.content.add_file("a", make_file(3, 1u << 20));
  h.deliver(7, encode(content_req{1, hash, 0, 1u << 20, 1})); // 1 MiB in 1-byte chunks
  auto chunks = h.sent<content_chunk>();
  CHECK(chunks.size() == (1u << 20) / limits::chunk_bytes_min);
  for (auto& c : chunks)
    CHECK(c.data.size() == limits::chunk_bytes_min);
  CHECK(h.counters["filexfer.small_chunks_raised"] == 1);
  REQUIRE(h.sent<content_end>().size() == 1);
}

TEST_CASE("filexfer provider answers busy past uploads_per_peer_max for one peer only") {
  harness h({});
  digest hash = h.n.content.add_file("a", make_file(7, 2u << 20));
  effects fx;
  auto c = h.n.ctx(0);
  // Disjoint ranges, so no request supersedes another.
  const std::uint64_t piece = 4096;
  for (std::uint64_t id = 1; id <= limits::uploads_per_peer_max + 1; ++id)
    h.logic->frame(c, 7, encode(content_req{id, hash, (id - 1) * piece, piece, 4096}), fx);
  CHECK(h.p->active_uploads() == limits::uploads_per_peer_max);
  REQUIRE(fx.frames.size() == 1);
  auto e = std::get<content_err>(decode(fx.frames[0].data).msg);
  CHECK(e.req_id == limits::uploads_per_peer_max + 1);
  CHECK(e.code == error_code::busy);
  CHECK(e.text.find("to this peer") != std::string::npos);
  // Another peer is still served.
  h.logic->frame(c, 8, encode(content_req{1, hash, 0, piece, 4096}), fx);
  CHECK(h.p->active_uploads() == limits::uploads_per_peer_max + 1);
}
