// The incremental frame decoder of every connection, against a plain model
// that parses the whole stream at once. Input: 4 bytes of settings (bound,
// first-frame bound, staging size, read size), then the stream. The stream
// goes through one decoder by feed() and through another by the zero-copy
// read_buffer()/commit() path, in reads of the chosen size. Both must
// deliver the model's frames, never one over its bound, stop exactly at the
// first length prefix over the bound with an error naming it, and never hold
// more than twice what arrived of a frame (or the staging size).
#include "fuzz_check.hpp"
#include "net/framing.hpp"

#include <algorithm>
#include <cstring>

using namespace peerlab;

namespace {

struct settings {
  std::size_t max, first_max, staging, read;
};

struct model {
  std::vector<bytes> frames;
  bool error = false; // a length prefix over its bound was reached
};

model parse_whole(byte_view s, const settings& cfg) {
  model m;
  std::size_t pos = 0;
  while (s.size() - pos >= 4) {
    std::uint32_t n = 0;
    std::memcpy(&n, s.data() + pos, 4);
    const auto bound = m.frames.empty() ? (cfg.first_max ? cfg.first_max : cfg.max) : cfg.max;
    if (n > bound)
      return m.error = true, m;
    if (s.size() - pos - 4 < n)
      break;
    m.frames.emplace_back(s.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                          s.begin() + static_cast<std::ptrdiff_t>(pos + 4 + n));
    pos += 4 + n;
  }
  return m;
}

/// Runs one decoder over the stream; `zero_copy` picks the read path.
model run(byte_view s, const settings& cfg, bool zero_copy) {
  net::frame_decoder d(cfg.max, cfg.staging, cfg.first_max);
  model m;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto n = std::min(cfg.read, s.size() - pos);
    bool ok = true;
    if (zero_copy) {
      auto buf = d.read_buffer();
      fuzz::require(!buf.empty(), "framing read_buffer() is empty");
      const auto k = std::min(n, buf.size());
      std::memcpy(buf.data(), s.data() + pos, k);
      ok = d.commit(k);
      pos += k;
    } else {
      ok = d.feed(s.subspan(pos, n));
      pos += n;
    }
    while (d.has_frame())
      m.frames.push_back(d.take());
    if (!ok) {
      fuzz::require(d.error().find("exceeds the bound") != std::string::npos,
                    "framing error does not name the bound", d.error());
      return m.error = true, m;
    }
    // Memory held for a frame follows what arrived, not what was announced.
    fuzz::require(d.body_capacity() <= std::max<std::size_t>({cfg.staging, 16, 2 * pos}),
                  "framing holds more than twice what arrived");
  }
  return m;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4)
    return 0;
  settings cfg;
  cfg.max = 1 + data[0] * 4u;
  cfg.first_max = data[1] & 1 ? 1 + data[1] / 2u : 0;
  cfg.staging = 1 + data[2];
  cfg.read = 1 + data[3] % 64u;
  auto stream = fuzz::view(data + 4, size - 4);
  auto want = parse_whole(stream, cfg);
  for (bool zero_copy : {false, true}) {
    auto got = run(stream, cfg, zero_copy);
    fuzz::require(got.error == want.error, "framing error differs from the model");
    fuzz::require(got.frames == want.frames, "framing frames differ from the model");
    for (std::size_t i = 0; i < got.frames.size(); ++i)
      fuzz::require(got.frames[i].size() <= (i == 0 && cfg.first_max ? cfg.first_max : cfg.max),
                    "framing delivered a frame over its bound");
  }
  return 0;
}
