#pragma once
// Positional file writes done by a background thread, so that a downloader's
// actor hashes the next chunk while the kernel copies the last one into the
// page cache (on this class of machine a fresh page-cache write costs as much
// CPU as SHA-256 itself). Bounded: write() blocks while `max_pending_bytes`
// are queued. Errors are sticky per file descriptor and reported by the next
// write() or flush().
#include "protocols/common/types.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace peerlab::net {

class write_behind {
public:
  explicit write_behind(std::size_t max_pending_bytes = 32u << 20);
  ~write_behind(); // finishes every queued write
  write_behind(const write_behind&) = delete;
  write_behind& operator=(const write_behind&) = delete;

  /// Queues a copy of `data` for `fd` at `offset`. False if an earlier write
  /// to `fd` failed (`error` then says why).
  bool write(int fd, std::uint64_t offset, byte_view data, std::string* error = nullptr);
  /// Waits until every queued write to `fd` is on its way to the disk (in the
  /// page cache). False if any of them failed.
  bool flush(int fd, std::string* error = nullptr);
  /// Waits for `fd`'s writes and forgets its error; call before closing `fd`.
  void forget(int fd);

private:
  struct job {
    int fd;
    std::uint64_t offset;
    bytes data;
  };
  void run();
  bool failed(int fd, std::string* error) const; // mu_ held

  const std::size_t max_pending_;
  std::mutex mu_;
  std::condition_variable work_, done_;
  std::deque<job> jobs_;
  std::size_t pending_bytes_ = 0;
  std::map<int, std::size_t> pending_per_fd_; // queued or in progress
  std::map<int, std::string> errors_;
  std::vector<bytes> spare_; // recycled buffers: warm memory, no page faults
  bool stopping_ = false;
  std::thread thread_; // started on the first write
};

} // namespace peerlab::net
