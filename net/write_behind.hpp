#pragma once
// Positional file writes done by a background thread, so that a downloader's
// actor hashes the next chunk while the last one goes to the file. Buffers are
// aligned to 4096 bytes so that the caller may pass an O_DIRECT descriptor for
// aligned pieces (see disk_content: on this class of VM a fresh page-cache
// write costs more CPU than SHA-256 itself). Bounded: write() blocks while
// `max_pending_bytes` are queued. Errors are sticky per file descriptor and
// reported by the next write() or flush(). Writes run in the order queued;
// contiguous writes to one descriptor are merged into one pwritev.
#include "protocols/common/types.hpp"

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace peerlab::net {

constexpr std::size_t direct_io_alignment = 4096;

class write_behind {
public:
  explicit write_behind(std::size_t max_pending_bytes = 32u << 20);
  ~write_behind(); // finishes every queued write
  write_behind(const write_behind&) = delete;
  write_behind& operator=(const write_behind&) = delete;

  /// Queues a copy of `data` for `fd` at `offset`. False if an earlier write
  /// to `fd` failed (`error` then says why).
  bool write(int fd, std::uint64_t offset, byte_view data, std::string* error = nullptr);
  /// Waits until every queued write to `fd` is done. False if any failed.
  bool flush(int fd, std::string* error = nullptr);
  /// Waits for `fd`'s writes and forgets its error; call before closing `fd`.
  void forget(int fd);

private:
  struct free_deleter {
    void operator()(std::uint8_t* p) const { std::free(p); }
  };
  struct buffer {
    std::unique_ptr<std::uint8_t, free_deleter> data;
    std::size_t capacity = 0;
    std::size_t size = 0;
  };
  struct job {
    int fd;
    std::uint64_t offset;
    buffer buf;
  };
  void run();
  bool failed(int fd, std::string* error) const; // mu_ held
  buffer take_buffer(std::size_t n);             // mu_ held

  const std::size_t max_pending_;
  std::mutex mu_;
  std::condition_variable work_, done_;
  std::deque<job> jobs_;
  std::size_t pending_bytes_ = 0;
  std::map<int, std::size_t> pending_per_fd_; // queued or in progress
  std::map<int, std::string> errors_;
  std::vector<buffer> spare_; // recycled (up to max_pending_ bytes): warm memory, no page faults
  std::size_t spare_bytes_ = 0;
  bool stopping_ = false;
  std::thread thread_; // started on the first write
};

} // namespace peerlab::net
