#include "net/write_behind.hpp"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <new>
#include <sys/uio.h>
#include <unistd.h>

namespace peerlab::net {

namespace {
constexpr std::size_t max_batch_jobs = 64;        // iovecs per pwritev
constexpr std::size_t max_batch_bytes = 8u << 20; // bytes per pwritev
} // namespace

write_behind::write_behind(std::size_t max_pending_bytes) : max_pending_(max_pending_bytes) {}

write_behind::~write_behind() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

bool write_behind::failed(int fd, std::string* error) const {
  auto it = errors_.find(fd);
  if (it == errors_.end())
    return false;
  if (error)
    *error = it->second;
  return true;
}

write_behind::buffer write_behind::take_buffer(std::size_t n) {
  for (std::size_t i = 0; i < spare_.size(); ++i)
    if (spare_[i].capacity >= n) {
      buffer b = std::move(spare_[i]);
      spare_bytes_ -= b.capacity;
      spare_.erase(spare_.begin() + static_cast<std::ptrdiff_t>(i));
      return b;
    }
  return {};
}

bool write_behind::write(int fd, std::uint64_t offset, byte_view data, std::string* error) {
  std::unique_lock lock(mu_);
  if (failed(fd, error))
    return false;
  if (!thread_.joinable())
    thread_ = std::thread([this] { run(); });
  // One write larger than the bound still goes through, alone.
  done_.wait(lock,
             [&] { return pending_bytes_ == 0 || pending_bytes_ + data.size() <= max_pending_; });
  buffer buf = take_buffer(data.size());
  lock.unlock();
  if (buf.capacity < data.size()) {
    auto cap = (data.size() + direct_io_alignment - 1) / direct_io_alignment * direct_io_alignment;
    void* p = std::aligned_alloc(direct_io_alignment, std::max(cap, direct_io_alignment));
    if (!p)
      throw std::bad_alloc();
    buf.data.reset(static_cast<std::uint8_t*>(p));
    buf.capacity = std::max(cap, direct_io_alignment);
  }
  if (!data.empty())
    std::memcpy(buf.data.get(), data.data(), data.size()); // copied outside the lock
  buf.size = data.size();
  lock.lock();
  pending_bytes_ += buf.size;
  ++pending_per_fd_[fd];
  jobs_.push_back({fd, offset, std::move(buf)});
  work_.notify_one();
  return true;
}

bool write_behind::flush(int fd, std::string* error) {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return pending_per_fd_.find(fd) == pending_per_fd_.end(); });
  return !failed(fd, error);
}

void write_behind::forget(int fd) {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return pending_per_fd_.find(fd) == pending_per_fd_.end(); });
  errors_.erase(fd);
}

void write_behind::run() {
  std::unique_lock lock(mu_);
  std::vector<job> batch;
  std::vector<iovec> iov;
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return; // stopping, and everything is written
    // Contiguous writes to one file go out as one pwritev: with O_DIRECT each
    // call is a device round trip, so small chunks would be latency-bound.
    batch.clear();
    std::size_t total = 0;
    do {
      batch.push_back(std::move(jobs_.front()));
      jobs_.pop_front();
      total += batch.back().buf.size;
    } while (!jobs_.empty() && batch.size() < max_batch_jobs && total < max_batch_bytes &&
             jobs_.front().fd == batch.back().fd &&
             jobs_.front().offset == batch.back().offset + batch.back().buf.size);
    const int fd = batch.front().fd;
    const std::uint64_t offset = batch.front().offset;
    bool skip = errors_.count(fd) > 0; // that file is already broken
    lock.unlock();
    iov.clear();
    for (auto& j : batch)
      iov.push_back({j.buf.data.get(), j.buf.size});
    std::string err;
    std::size_t done = 0, first = 0; // bytes written, first iovec not fully written
    while (!skip && done < total) {
      auto n = ::pwritev(fd, iov.data() + first, static_cast<int>(iov.size() - first),
                         static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        err = n < 0 ? std::strerror(errno) : "no progress";
        break;
      }
      done += static_cast<std::size_t>(n);
      for (auto left = static_cast<std::size_t>(n); left > 0;) { // skip what was written
        auto k = std::min(left, iov[first].iov_len);
        iov[first].iov_base = static_cast<std::uint8_t*>(iov[first].iov_base) + k;
        iov[first].iov_len -= k;
        left -= k;
        if (iov[first].iov_len == 0)
          ++first;
      }
    }
    lock.lock();
    if (!err.empty())
      errors_.emplace(fd, "write at offset " + std::to_string(offset + done) + " failed: " + err);
    for (auto& j : batch) {
      pending_bytes_ -= j.buf.size;
      if (--pending_per_fd_[j.fd] == 0)
        pending_per_fd_.erase(j.fd);
      if (spare_bytes_ + j.buf.capacity <= max_pending_) {
        spare_bytes_ += j.buf.capacity;
        spare_.push_back(std::move(j.buf));
      }
    }
    done_.notify_all();
  }
}

} // namespace peerlab::net
