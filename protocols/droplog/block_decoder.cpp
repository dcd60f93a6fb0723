#include "protocols/droplog/block_decoder.hpp"

#include "protocols/droplog/block_stream.hpp"

#include <algorithm>
#include "protocols/droplog/erasure.hpp"

namespace peerlab::droplog {

void block_decoder::evict(std::uint64_t id) {
  auto it = open_.find(id);
  if (it == open_.end())
    return;
  bytes_ -= it->second.symbols.size() * it->second.symbol_bytes;
  open_.erase(it);
}

block_decoder::outcome block_decoder::add(message_frame&& s, std::vector<message_frame>& entries,
                                          std::string* why) {
  auto bad = [&](std::string text) {
    if (why)
      *why = std::move(text);
    return outcome::malformed;
  };
  const std::uint64_t id = s.seq;
  const std::uint32_t k = s.fragment_count, index = s.fragment_index;
  if (k == 0 || k >= erasure::max_symbols || index >= erasure::max_symbols || s.payload.empty() ||
      s.payload.size() > max_symbol_bytes_)
    return bad("symbol of block " + std::to_string(id) + " has bad fields");
  if (std::find(recent_.begin(), recent_.end(), id) == recent_.end()) {
    recent_.push_back(id);
    if (recent_.size() > 64)
      recent_.erase(recent_.begin());
  }
  if (done_.contains(id)) {
    return outcome::ignored;
  }
  auto it = open_.find(id);
  if (it != open_.end()) {
    if (it->second.k != k || it->second.symbol_bytes != s.payload.size())
      return bad("symbol of block " + std::to_string(id) + " disagrees with the block's k or size");
    if (it->second.symbols.count(index))
      return outcome::ignored;
  }
  // Bounds: make room by dropping the blocks furthest from delivery.
  while (!open_.empty() && (bytes_ + s.payload.size() > max_bytes_ ||
                            (it == open_.end() && open_.size() >= max_blocks_))) {
    auto last = std::prev(open_.end());
    if (last->first <= id) {
      return outcome::ignored; // this symbol's block is the furthest itself
    }
    evict(last->first);
  }
  if (it == open_.end())
    it = open_.emplace(id, open_block{k, s.payload.size(), {}}).first;
  bytes_ += s.payload.size();
  it->second.symbols.emplace(index, std::move(s.payload));
  if (it->second.symbols.size() < k)
    return outcome::kept;

  auto data = erasure::decode(k, it->second.symbols);
  evict(id);
  done_.insert(id);
  if (!data)
    return bad("block " + std::to_string(id) + " could not be rebuilt");
  bytes stream;
  for (auto& d : *data)
    stream.insert(stream.end(), d.begin(), d.end());
  std::string err;
  auto parsed = parse_block(stream, max_fragment_bytes_, &err);
  if (!parsed)
    return bad("block " + std::to_string(id) + ": " + err);
  ++rebuilt_;
  for (auto& e : *parsed)
    entries.push_back(std::move(e));
  return outcome::rebuilt;
}

std::vector<id_range> block_decoder::rebuilt_ranges(std::size_t n) const {
  auto all = done_.all();
  if (all.size() > n)
    all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(n));
  return all;
}

std::vector<block_report> block_decoder::reports(std::size_t n) const {
  std::vector<block_report> out;
  auto listed = [&](std::uint64_t id) {
    return std::any_of(out.begin(), out.end(),
                       [&](const block_report& r) { return r.block == id; });
  };
  for (auto it = recent_.rbegin(); it != recent_.rend() && out.size() < (n + 1) / 2; ++it) {
    if (auto o = open_.find(*it); o != open_.end())
      out.push_back({*it, static_cast<std::uint8_t>(o->second.symbols.size())});
    else if (done_.contains(*it))
      out.push_back({*it, rebuilt_mark});
  }
  for (auto& [id, b] : open_) {
    if (out.size() >= n)
      break;
    if (!listed(id))
      out.push_back({id, static_cast<std::uint8_t>(b.symbols.size())});
  }
  std::sort(out.begin(), out.end(),
            [](const block_report& a, const block_report& b) { return a.block < b.block; });
  return out;
}

} // namespace peerlab::droplog
