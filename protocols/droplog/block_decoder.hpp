#pragma once
// Receiving side of erasure coding: collects the symbols of each coded block
// until any k of them arrived, rebuilds the block with Reed-Solomon and
// hands back its log entries. Reports which blocks still lack symbols, so the
// sender repairs exactly the deficit. Bounded in blocks and bytes: past the
// bounds the blocks furthest from in-order delivery (highest ids) go first.
#include "protocols/droplog/codec.hpp"
#include "protocols/droplog/range_set.hpp"

#include <map>
#include <string>
#include <vector>

namespace peerlab::droplog {

class block_decoder {
public:
  block_decoder(std::uint32_t max_fragment_bytes, std::uint32_t max_symbol_bytes,
                std::uint64_t max_bytes, std::size_t max_blocks)
      : max_fragment_bytes_(max_fragment_bytes), max_symbol_bytes_(max_symbol_bytes),
        max_bytes_(max_bytes), max_blocks_(max_blocks) {}

  enum class outcome : std::uint8_t { kept, rebuilt, ignored, malformed };
  /// Adds one symbol frame (flags == message_flags::coded). When its block
  /// can be rebuilt, appends the block's entries to `entries`. `why` names
  /// the problem of a malformed symbol or block.
  outcome add(message_frame&& symbol, std::vector<message_frame>& entries, std::string* why);

  /// Reports for up to `n` blocks: those whose symbols arrived most recently
  /// (what the peer is about to learn was read or cut) and then the lowest
  /// unfinished ones. `have` is the symbols held, or rebuilt_mark if rebuilt.
  std::vector<block_report> reports(std::size_t n) const;
  static constexpr std::uint8_t rebuilt_mark = 255;
  /// Up to `n` ranges of rebuilt block ids, the highest: block ids are
  /// sparse packet ids, so each rebuilt block is a range of its own, and the
  /// lowest ones are long retired at the sender (their entries were acked);
  /// the newest are those it may still be sending parity for.
  std::vector<id_range> rebuilt_ranges(std::size_t n) const;
  std::size_t open_blocks() const { return open_.size(); }
  std::uint64_t buffered_bytes() const { return bytes_; }
  std::uint64_t rebuilt() const { return rebuilt_; }

private:
  struct open_block {
    std::uint32_t k = 0;
    std::size_t symbol_bytes = 0;
    std::map<std::uint32_t, bytes> symbols;
  };
  void evict(std::uint64_t id);

  std::uint32_t max_fragment_bytes_, max_symbol_bytes_;
  std::uint64_t max_bytes_;
  std::size_t max_blocks_;
  std::map<std::uint64_t, open_block> open_;
  range_set done_{1024};              // rebuilt or abandoned blocks: later symbols are ignored
  std::vector<std::uint64_t> recent_; // blocks of the latest symbols, newest last (bounded)
  std::uint64_t bytes_ = 0, rebuilt_ = 0;
};

} // namespace peerlab::droplog
