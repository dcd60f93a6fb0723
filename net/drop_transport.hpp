#pragma once
// The folder transport of a live node (node config `drop_folders`): frames for
// port ports::droplog are packet files, not TCP frames. Each frame the role
// sends (byte 0 the port, then the packet file) is written into
// out_dir/<recipient hex16>/ with net/drop_folder's naming and atomic rename;
// each new file in in_dir/<self hex16>/ goes to the role as a frame from the
// sender its name and header agree on. The role's droplog_deletable events
// delete the files it no longer needs (its housekeeping).
//
// No polling loop: an inotify watch on the incoming folder (IN_MOVED_TO, the
// mirror's and the writers' rename, and IN_CLOSE_WRITE) triggers scans, and a
// slow safety rescan (rescan_interval) catches what a full inotify queue
// dropped. Everything runs on the node's io thread; send and remove may be
// called from any thread. Bounds: bytes of frames waiting to be written
// (max_write_queue_bytes; above it a frame is dropped, counted and logged: the
// log retransmits), files and bytes per scan (drop_folder_limits).
#include "net/drop_folder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace peerlab::net {

struct drop_folders_config {
  std::filesystem::path out_dir, in_dir; // may be one folder (no mirror)
  time_us rescan_interval = 2 * us_per_s;
  std::uint64_t max_write_queue_bytes = 1ull << 30;
  drop_folder_limits limits{};
};

class drop_transport {
public:
  using deliver_fn = std::function<void(peer_id from, bytes frame)>; // io thread
  using log_fn = std::function<void(const std::string&)>;
  using count_fn = std::function<void(const std::string&, double)>;

  /// Creates the folders (out_dir and in_dir/<self>) if missing; throws
  /// std::runtime_error naming the path if it cannot, or if inotify fails.
  drop_transport(boost::asio::io_context& io, drop_folders_config cfg, peer_id self,
                 deliver_fn deliver, log_fn log, count_fn count);
  ~drop_transport();
  drop_transport(const drop_transport&) = delete;
  drop_transport& operator=(const drop_transport&) = delete;

  /// Io thread: watches the incoming folder and scans it once.
  void start();
  /// Io thread: no more scans, writes or deletions.
  void stop();

  /// Any thread: queues one frame (port byte, packet file) for `to`.
  void send(peer_id to, bytes frame);
  /// Any thread: deletes the files named by a droplog_deletable event
  /// ("o:PEER:ID" outgoing to PEER, "i:PEER:ID" incoming from PEER).
  void remove(std::string files);

  std::string incoming_dir() const { return folder_.incoming_dir().string(); }

private:
  void watch();
  void arm_rescan();
  void request_scan();
  void scan();
  void write(peer_id to, const bytes& frame);
  void remove_now(const std::string& files);

  boost::asio::io_context& io_;
  drop_folders_config cfg_;
  peer_id self_;
  deliver_fn deliver_;
  log_fn log_;
  count_fn count_;
  drop_folder folder_;
  boost::asio::posix::stream_descriptor inotify_;
  std::array<char, 4096> events_{};
  boost::asio::steady_timer rescan_;
  bool scan_posted_ = false, running_ = false;
  std::atomic<std::uint64_t> queued_bytes_{0};
  std::atomic<bool> open_{true}; // false once stopped: sends are dropped
};

} // namespace peerlab::net
