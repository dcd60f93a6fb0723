#include "protocols/droplog/block_encoder.hpp"

#include "protocols/droplog/block_stream.hpp"
#include "protocols/droplog/erasure.hpp"

#include <algorithm>
#include <cmath>

namespace peerlab::droplog {

std::uint32_t block_encoder::symbol_size(std::uint64_t stream_bytes, std::uint64_t) const {
  // Per block, k symbols cost k frame overheads o, and a file cut inside a
  // symbol loses half a symbol on average: o k + S / 2 with S = stream / k
  // is smallest at S = sqrt(2 o stream). k is rounded to a whole number
  // first and S then set to divide the stream evenly, so padding the last
  // symbol costs under k bytes instead of up to a symbol.
  const double stream = static_cast<double>(std::max<std::uint64_t>(stream_bytes, 1));
  const double balanced = std::sqrt(2.0 * frame_overhead * stream);
  const std::uint64_t kmax = std::max<std::uint32_t>(1, cfg_.coding_block_entries);
  const std::uint64_t max_sym = max_symbol_bytes(cfg_);
  std::uint64_t k = std::clamp<std::uint64_t>(
    static_cast<std::uint64_t>(std::llround(stream / std::max(balanced, 64.0))), 1, kmax);
  k = std::max<std::uint64_t>(k, (static_cast<std::uint64_t>(stream) + max_sym - 1) / max_sym);
  const auto s = (static_cast<std::uint64_t>(stream) + k - 1) / k;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(s, max_sym));
}

void block_encoder::open(std::uint64_t id, const std::vector<const message_frame*>& entries,
                         std::uint64_t packet_bytes, std::uint32_t copies) {
  bytes stream = serialize_block(entries);
  const std::uint32_t sym = symbol_size(stream.size(), packet_bytes);
  block b;
  b.k = static_cast<std::uint32_t>((stream.size() + sym - 1) / sym);
  stream.resize(std::size_t{b.k} * sym, 0);
  for (std::uint32_t i = 0; i < b.k; ++i)
    b.data.emplace_back(stream.begin() + std::size_t{i} * sym,
                        stream.begin() + std::size_t{i + 1} * sym);
  for (auto* e : entries)
    b.seqs.push_back(e->seq);
  b.next_parity = b.k;
  b.copies_left = copies > 0 ? copies - 1 : 0;
  blocks_.emplace(id, std::move(b));
}

bool block_encoder::wants(const block& b) const {
  if (b.next_data < b.k)
    return true; // systematic: every data symbol goes out once
  if (b.rebuilt || b.exhausted)
    return false;
  if (b.copies_left > 0)
    return true;
  const double need = b.k - b.have;
  return b.expected + 1e-9 < parity_target(b) && b.expected < need * 8;
}

double block_encoder::parity_target(const block& b) const {
  // Before any feedback, parity for `coding_proactive` of the expected loss;
  // afterwards `coding_repair_share` of the deficit, with a margin.
  const double need = b.k - b.have;
  return b.feedback ? cfg_.coding_repair_share * need + cfg_.coding_margin * std::sqrt(b.variance)
                    : cfg_.coding_proactive * need;
}

bool block_encoder::has_work() const {
  return std::any_of(blocks_.begin(), blocks_.end(),
                     [&](const auto& kv) { return wants(kv.second); });
}

std::uint64_t block_encoder::wanted_bytes(const survival_model& model,
                                          std::uint64_t packet_bytes) const {
  std::uint64_t sum = 0;
  const double share = std::max(0.05, model.mean_share(packet_bytes));
  for (auto& [id, b] : blocks_) {
    if (!wants(b))
      continue;
    const double need =
      b.next_data < b.k ? b.k - b.next_data : std::max(1.0, b.k - b.have - b.expected);
    sum += static_cast<std::uint64_t>(std::ceil(need / share)) * frame_size(b.data.front().size());
  }
  return sum;
}

message_frame block_encoder::make_symbol(std::uint64_t id, block& b) {
  message_frame f;
  f.seq = id;
  f.fragment_count = b.k;
  f.flags = message_flags::coded;
  if (b.next_data < b.k) {
    f.fragment_index = b.next_data;
    f.payload = b.data[b.next_data++];
    return f;
  }
  if (b.parity.empty()) {
    // As many rows as the block still wants (at least one, at most a batch):
    // each symbol placed adds less than one expected arrival, so this rarely
    // makes rows that are never sent.
    const double wanted = b.copies_left > 0 ? b.k : std::ceil(parity_target(b) - b.expected);
    const auto rows = static_cast<std::uint32_t>(std::clamp<double>(
      wanted, 1, std::min(parity_batch_max, erasure::max_symbols - b.next_parity)));
    std::vector<byte_view> src(b.data.begin(), b.data.end());
    for (auto& p : erasure::encode(src, b.next_parity, rows))
      b.parity.push_back(std::move(p));
  }
  f.fragment_index = b.next_parity++;
  f.payload = std::move(b.parity.front());
  b.parity.pop_front();
  ++parity_sent_;
  return f;
}

std::vector<const message_frame*>
block_encoder::take(std::uint64_t offset, std::uint64_t packet_bytes, std::uint64_t budget,
                    const survival_model& model, std::vector<symbol_ref>& refs) {
  const std::size_t first_new = staged_.size();
  bool close_file = false;
  for (auto& [id, b] : blocks_) {
    if (close_file)
      break;
    const bool copy_round = b.next_data >= b.k && b.copies_left > 0;
    std::uint32_t placed = 0;
    while (wants(b)) {
      const std::uint64_t need = frame_size(b.data.front().size());
      if (need > budget && staged_.size() > first_new)
        break;
      if (b.next_data >= b.k && b.next_parity >= erasure::max_symbols) {
        if (!b.exhausted) {
          b.exhausted = true;
          exhausted_.insert(exhausted_.end(), b.seqs.begin(), b.seqs.end());
        }
        break;
      }
      const double p = model.survive(offset + need, std::max(packet_bytes, offset + need));
      // Where a symbol would hardly ever arrive, the file ends: the rest goes
      // first in the next one. Symbols placed there would be wasted, and
      // each block has only 255 symbol indices.
      if (p < min_useful_survival && staged_.size() > first_new) {
        close_file = true;
        break;
      }
      staged_.push_back(make_symbol(id, b));
      placed_.push_back({id, offset + need, p});
      b.expected += p;
      b.variance += p * (1 - p);
      if (refs.empty() || refs.back().block != id)
        refs.push_back({id, 0, 0, 0});
      auto& r = refs.back();
      ++r.count;
      r.ends.push_back(static_cast<std::uint32_t>(offset + need));
      r.expected += p;
      r.variance += p * (1 - p);
      offset += need;
      budget = need > budget ? 0 : budget - need;
      ++placed;
      // A small message sent alone: one whole set of k symbols per file.
      if (b.copies_left > 0 && placed == b.k) {
        if (copy_round)
          --b.copies_left;
        close_file = true;
        break;
      }
    }
  }
  std::vector<const message_frame*> out;
  for (std::size_t i = first_new; i < staged_.size(); ++i)
    out.push_back(&staged_[i]);
  return out;
}

void block_encoder::finish_packet(std::uint64_t size, const survival_model& model,
                                  std::vector<symbol_ref>& refs) {
  for (auto& pl : placed_) {
    const double p = model.survive(pl.end, std::max(size, pl.end));
    const double dp = p - pl.p, dv = p * (1 - p) - pl.p * (1 - pl.p);
    pl.p = p;
    if (auto it = blocks_.find(pl.block); it != blocks_.end()) {
      it->second.expected = std::max(0.0, it->second.expected + dp);
      it->second.variance = std::max(0.0, it->second.variance + dv);
    }
    for (auto& r : refs)
      if (r.block == pl.block) {
        r.expected += dp;
        r.variance += dv;
      }
  }
}

void block_encoder::left_flight(const std::vector<symbol_ref>& refs, std::uint64_t bytes_read) {
  for (auto& r : refs) {
    auto it = blocks_.find(r.block);
    if (it == blocks_.end())
      continue;
    auto& b = it->second;
    b.expected = std::max(0.0, b.expected - r.expected);
    b.variance = std::max(0.0, b.variance - r.variance);
    b.feedback = true;
    const bool reported =
      std::any_of(reported_.begin(), reported_.end(),
                  [&](const block_report& x) { return x.block == r.block; }) ||
      std::any_of(reported_rebuilt_.begin(), reported_rebuilt_.end(),
                  [&](const id_range& x) { return x.first <= r.block && r.block <= x.last; });
    if (reported)
      continue;
    const auto arrived = static_cast<std::uint32_t>(std::count_if(
      r.ends.begin(), r.ends.end(), [&](std::uint32_t e) { return e <= bytes_read; }));
    // At most k - 1: a symbol skipped for bit rot is not told apart here,
    // so only the receiver's report says a block is rebuilt.
    b.have = std::min(b.have + arrived, std::max<std::uint32_t>(b.k, 1) - 1);
  }
}

void block_encoder::set_reported(const std::vector<block_report>& reports,
                                 const std::vector<id_range>& rebuilt) {
  reported_ = reports;
  reported_rebuilt_ = rebuilt;
}

void block_encoder::on_reports(const std::vector<block_report>& reports,
                               const std::vector<id_range>& rebuilt) {
  for (auto& r : reports)
    if (auto it = blocks_.find(r.block); it != blocks_.end()) {
      if (r.have >= it->second.k)
        it->second.rebuilt = true; // rebuilt_mark
      else
        it->second.have = r.have;
    }
  for (auto& r : rebuilt)
    for (auto it = blocks_.lower_bound(r.first); it != blocks_.end() && it->first <= r.last; ++it)
      it->second.rebuilt = true;
}

std::vector<std::uint64_t> block_encoder::take_exhausted() {
  std::vector<std::uint64_t> out;
  out.swap(exhausted_);
  return out;
}

} // namespace peerlab::droplog
