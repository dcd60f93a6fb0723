// Seeded corruption fuzz: mutated frames must never crash the codec or the
// roles, and anything the codec accepts must be canonical (re-encodes to the
// same bytes), so two different frames never mean the same message.
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "tests/kit/lockstep_network.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::filexfer;

namespace {

std::vector<bytes> seeds_frames() {
  digest h{};
  h[0] = 1;
  return {
    encode(meta_req{1, h}),
    encode(meta_ok{2, "file.bin", 10, 4096}),
    encode(meta_err{3, error_code::not_provider, "no"}),
    encode(content_req{4, h, 0, 4096, 1024}),
    encode(content_chunk{5, 1024, {}, bytes(64, 0x5a)}),
    encode(content_end{6, 4096}),
    encode(content_err{7, error_code::busy, "busy"}),
  };
}

bytes mutate(rng& r, bytes f) {
  switch (r.below(6)) {
  case 0: // flip a few bytes
    for (std::uint64_t i = 0, n = 1 + r.below(4); i < n && !f.empty(); ++i)
      f[r.below(f.size())] ^= static_cast<std::uint8_t>(1 + r.below(255));
    break;
  case 1: // cut
    f.resize(r.below(f.size() + 1));
    break;
  case 2: // insert bytes
    for (std::uint64_t i = 0, n = 1 + r.below(8); i < n; ++i)
      f.insert(f.begin() + static_cast<std::ptrdiff_t>(r.below(f.size() + 1)),
               static_cast<std::uint8_t>(r.next()));
    break;
  case 3: // delete bytes
    for (std::uint64_t i = 0, n = 1 + r.below(8); i < n && !f.empty(); ++i)
      f.erase(f.begin() + static_cast<std::ptrdiff_t>(r.below(f.size())));
    break;
  case 4: // overwrite a length-bearing region with extreme values
    for (std::size_t i = 2; i < f.size(); ++i)
      if (r.chance(0.2))
        f[i] = r.chance(0.5) ? 0xff : 0x00;
    break;
  default: // pure garbage with a plausible header
    f.assign(r.below(80), 0);
    for (auto& b : f)
      b = static_cast<std::uint8_t>(r.next());
    if (f.size() >= 2) {
      f[0] = static_cast<std::uint8_t>(1 + r.below(2));
      f[1] = static_cast<std::uint8_t>(1 + r.below(7));
    }
  }
  return f;
}

} // namespace

TEST_CASE("filexfer codec survives seeded random corruption") {
  auto base = seeds_frames();
  std::size_t accepted = 0, rejected = 0;
  for (std::uint64_t seed = 1; seed <= 20000; ++seed) {
    rng r(seed);
    bytes f = mutate(r, base[r.below(base.size())]);
    auto d = decode(f);
    if (d.ok()) {
      ++accepted;
      INFO("seed " << seed);
      REQUIRE(encode(d.msg) == f);
    } else {
      ++rejected;
      REQUIRE_FALSE(d.error.empty());
    }
  }
  // Both outcomes must really occur, or the fuzz tests nothing.
  CHECK(accepted > 1000);
  CHECK(rejected > 10000);
}

TEST_CASE("filexfer roles survive seeded random frames and count rejections") {
  using namespace test_kit;
  auto base = seeds_frames();
  node prov, down;
  prov.id = 1;
  down.id = 2;
  prov.roles[ports::file_provider] = make_provider({});
  down.roles[ports::file_downloader] = make_downloader({});
  auto file = make_file(3, 5000);
  prov.content.add_file("f", file);
  effects fx;
  auto pc = prov.ctx(0);
  auto dc = down.ctx(0);
  prov.roles.at(ports::file_provider)->start(pc, fx);
  down.roles.at(ports::file_downloader)->start(dc, fx);
  fx.clear();
  std::size_t expected_rejects = 0, counted = 0;
  for (std::uint64_t seed = 1; seed <= 5000; ++seed) {
    rng r(seed * 7919);
    bytes f = mutate(r, base[r.below(base.size())]);
    bool valid = decode(f).ok();
    auto& target = (!f.empty() && f[0] == ports::file_provider) ? prov : down;
    auto c = target.ctx(static_cast<time_us>(seed));
    target.roles.begin()->second->frame(c, 9, f, fx);
    if (!valid)
      ++expected_rejects;
    for (auto& m : fx.metrics)
      if (std::string(m.name) == "frames_rejected")
        counted += static_cast<std::size_t>(m.value);
    // Drive the provider's send turns so accepted requests really get served.
    for (std::size_t i = 0; i < fx.timers.size(); ++i)
      prov.roles.at(ports::file_provider)->timer(pc, fx.timers[i].token, fx);
    fx.clear();
  }
  // Misdirected but valid frames (a reply on the provider port cannot decode)
  // are impossible by construction, so every rejection is a decode failure.
  CHECK(counted == expected_rejects);
  CHECK(expected_rejects > 1000);
}
