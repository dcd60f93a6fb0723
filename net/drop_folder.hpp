#pragma once
// Layer 0 of HTTP over file drops, live: packet files in real folders. One subfolder per
// recipient (16 hex digits of its node id); file names carry sender,
// recipient and packet id:
//
//   <root>/<recipient hex16>/<sender hex16>--<recipient hex16>--<packet id hex16>.packet
//
// A writer writes "<dir>/.<name>.<nonce>.tmp" and renames it into place, so a
// reader never takes a half-written file for a whole one (readers skip names
// starting with '.'). A side writes into `out_root` (the folder the mirror
// copies from) and reads `in_root/<self hex16>/` (where the mirror copies to);
// both may be the same folder when there is no mirror. Scans are bounded.
// Docs: docs/protocols/droplog.md, "Layer 0".
#include "protocols/common/types.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::net {

struct drop_route {
  peer_id sender = 0, recipient = 0;
  std::uint64_t packet_id = 0;
  bool operator==(const drop_route&) const = default;
};

/// "<sender>--<recipient>--<packet id>.packet", each 16 lower-case hex digits.
std::string drop_file_name(const drop_route& r);
/// Parses a name made by drop_file_name (nothing else: strict).
std::optional<drop_route> parse_drop_file_name(std::string_view name);
/// 16 lower-case hex digits.
std::string hex16(std::uint64_t v);

/// Writes `data` to dir/name through a temporary name and a rename (atomic on
/// POSIX within one file system), relative to `dir` opened once (a link at
/// `name` is replaced, never written through). Creates `dir`. Throws
/// std::runtime_error (placement_error) naming the path on failure. A
/// folder below a root: write_below_atomically (net/folder_walk.hpp).
void write_file_atomically(const std::filesystem::path& dir, const std::string& name,
                           byte_view data);
/// Reads a whole file (up to `max_bytes`); nullopt if it vanished, is larger, or cannot be read.
std::optional<bytes> read_whole_file(const std::filesystem::path& file, std::uint64_t max_bytes);

struct drop_folder_limits {
  std::size_t max_scan_entries = 4096;       // directory entries looked at per scan
  std::size_t max_files_per_scan = 256;      // new files handed out per scan
  std::uint64_t max_scan_bytes = 1ull << 30; // bytes read per scan (at least one file)
  std::uint64_t max_file_bytes = 1ull << 30; // larger files are skipped (and deleted)
  std::size_t max_remembered = 1u << 16;     // names of files already handed out
};

class drop_folder {
public:
  /// Creates the folders if needed. Throws std::runtime_error naming the path.
  drop_folder(std::filesystem::path out_root, std::filesystem::path in_root, peer_id self,
              drop_folder_limits lim = {});

  peer_id self() const { return self_; }
  std::filesystem::path outgoing_dir(peer_id recipient) const;
  std::filesystem::path incoming_dir() const;

  /// Writes one packet file for `recipient`; returns its path.
  std::filesystem::path write(peer_id recipient, std::uint64_t packet_id, byte_view data);

  struct incoming_file {
    std::string name;
    drop_route route;
    bytes data;
  };
  /// New files addressed to this side, in name order (sender, then packet id).
  /// Each file is handed out once (until it is removed and written again).
  std::vector<incoming_file> scan();

  bool remove_outgoing(peer_id recipient, std::uint64_t packet_id);
  bool remove_incoming(peer_id sender, std::uint64_t packet_id);
  bool remove_incoming(const std::string& name);

  struct counters {
    std::uint64_t written = 0, bytes_written = 0, read = 0, bytes_read = 0;
    std::uint64_t removed = 0, ignored_names = 0, oversize = 0, read_errors = 0;
  };
  const counters& stats() const { return stats_; }

private:
  std::filesystem::path out_root_, in_root_;
  peer_id self_;
  drop_folder_limits lim_;
  std::set<std::string> handed_out_; // names already read (bounded)
  counters stats_;
  std::uint64_t temp_counter_ = 0;
};

} // namespace peerlab::net
