#pragma once
// Sending side of erasure coding (docs/protocols/droplog.md, "Erasure
// coding"): log entries are grouped into blocks; each block's stream is cut
// into k data symbols, and Reed-Solomon parity symbols are made as needed.
//
// Every symbol placed in a file counts with its chance of arriving, which
// the survival model gives for its offset and the file's size. A block is
// sent until the symbols the receiver holds (its last report) plus the
// expected arrivals of those in flight cover k, with a margin; so a cut file
// is repaired with just the fresh parity its loss calls for, placed first in
// the next file where it is most likely to survive, and every symbol that
// arrives counts: none is a copy of another.
#include "protocols/droplog/codec.hpp"
#include "protocols/droplog/survival_model.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

namespace peerlab::droplog {

/// Symbols of one block carried by one packet, and their expected arrivals.
struct symbol_ref {
  std::uint64_t block = 0;
  std::uint32_t count = 0;
  double expected = 0;             // sum of P(arrives)
  double variance = 0;             // sum of p (1 - p)
  std::vector<std::uint32_t> ends; // offset just past each symbol in the packet
};

class block_encoder {
public:
  explicit block_encoder(const session_config& cfg) : cfg_(cfg) {}

  /// Symbol size for a block of `stream_bytes` in packets of about
  /// `packet_bytes`: the frame overhead against half a symbol lost per cut,
  /// and k <= coding_block_entries.
  std::uint32_t symbol_size(std::uint64_t stream_bytes, std::uint64_t packet_bytes) const;

  /// Opens block `id` (the packet id that first carries it) over `entries`.
  /// `copies` > 1: a small message sent alone goes out as that many files,
  /// each with k distinct symbols, so one round trip usually suffices.
  void open(std::uint64_t id, const std::vector<const message_frame*>& entries,
            std::uint64_t packet_bytes, std::uint32_t copies);

  /// Whether some block wants symbols sent now.
  bool has_work() const;
  /// Frame bytes of the symbols wanted now (an estimate, for batching).
  std::uint64_t wanted_bytes(const survival_model& model, std::uint64_t packet_bytes) const;

  /// Places symbols into a packet whose symbols start at `offset` and which
  /// will be about `packet_bytes` long, oldest blocks first, within
  /// `budget` bytes (at least one symbol). Frames stay valid until begin_packet().
  std::vector<const message_frame*> take(std::uint64_t offset, std::uint64_t packet_bytes,
                                         std::uint64_t budget, const survival_model& model,
                                         std::vector<symbol_ref>& refs);
  void begin_packet() {
    staged_.clear();
    placed_.clear();
  }
  /// The packet came out `size` bytes long: recounts the expected arrivals of
  /// its symbols (placed assuming `packet_bytes`) for their real offsets.
  void finish_packet(std::uint64_t size, const survival_model& model,
                     std::vector<symbol_ref>& refs);

  /// A packet carrying `refs` is no longer in flight (read, cut or lost).
  /// `bytes_read`: how much of it the receiver read (its size when acked,
  /// what the NACK says when cut, 0 when lost unseen). For blocks the
  /// control block being handled does not report, the symbols within it
  /// count as held: the sender's view stays current between reports.
  void left_flight(const std::vector<symbol_ref>& refs, std::uint64_t bytes_read);
  /// The blocks the control block now being handled reports on (empty when
  /// its reports are stale): their counts come from the report instead.
  void set_reported(const std::vector<block_report>& reports, const std::vector<id_range>& rebuilt);
  /// The receiver's reports from a control block at least as recent as any
  /// before: symbols held per unfinished block, and rebuilt block ranges. A
  /// block it does not list keeps its last count.
  void on_reports(const std::vector<block_report>& reports, const std::vector<id_range>& rebuilt);
  /// Forgets blocks none of whose entries `outstanding(seq)` still needs.
  template <class Outstanding>
  void retire(Outstanding&& outstanding);
  /// Entries of blocks that ran out of parity indices: to be sent in new blocks.
  std::vector<std::uint64_t> take_exhausted();

  bool is_open(std::uint64_t id) const { return blocks_.count(id) > 0; }
  std::size_t open_blocks() const { return blocks_.size(); }
  std::uint64_t parity_sent() const { return parity_sent_; }

private:
  struct block {
    std::uint32_t k = 0;
    std::vector<bytes> data; // k symbols of the padded stream
    std::vector<std::uint64_t> seqs;
    std::uint32_t next_data = 0;   // data symbols not yet sent start here
    std::uint32_t next_parity = 0; // next fresh parity index
    std::deque<bytes> parity;      // made ahead: indices next_parity, next_parity + 1, ...
    std::uint32_t have = 0;        // symbols the receiver last reported holding
    double expected = 0;           // expected arrivals of symbols in flight
    double variance = 0;
    std::uint32_t copies_left = 0; // further files a small message still goes into
    bool feedback = false;         // a packet carrying it was resolved
    bool exhausted = false;
    bool rebuilt = false; // the receiver says so: its entries' acks will follow
  };
  bool wants(const block& b) const;
  double parity_target(const block& b) const; // expected arrivals wanted in flight
  message_frame make_symbol(std::uint64_t id, block& b);

  static constexpr double min_useful_survival = 0.1;
  /// Parity rows made in one pass over a block's data (ISA-L reads the k data
  /// symbols once for all of them): one row per pass cost a full read of
  /// the block per parity symbol.
  static constexpr std::uint32_t parity_batch_max = 8;
  const session_config& cfg_;
  std::map<std::uint64_t, block> blocks_;
  std::deque<message_frame> staged_;
  struct placement {
    std::uint64_t block = 0;
    std::uint64_t end = 0; // offset of the symbol's last byte + 1
    double p = 0;          // P(arrives) assumed when placed
  };
  std::vector<placement> placed_; // parallel to staged_
  std::vector<std::uint64_t> exhausted_;
  std::vector<block_report> reported_;
  std::vector<id_range> reported_rebuilt_;
  std::uint64_t parity_sent_ = 0;
};

template <class Outstanding>
void block_encoder::retire(Outstanding&& outstanding) {
  std::erase_if(blocks_, [&](const auto& kv) {
    return std::none_of(kv.second.seqs.begin(), kv.second.seqs.end(),
                        [&](std::uint64_t s) { return outstanding(s); });
  });
}

} // namespace peerlab::droplog
