#include "apps/peerlab/testbed/node_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace peerlab::app::testbed {

namespace {
constexpr std::size_t line_bytes_max = 4u << 20; // a node's event line; longer ones are cut
}

void inbox::push(inbox_entry e) {
  {
    std::lock_guard g(mu_);
    q_.push_back(std::move(e));
  }
  cv_.notify_one();
}

void inbox::notify() {
  {
    std::lock_guard g(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

std::deque<inbox_entry> inbox::wait_for(std::int64_t timeout_us) {
  std::unique_lock l(mu_);
  if (q_.empty() && !woken_ && timeout_us > 0)
    cv_.wait_for(l, std::chrono::microseconds(timeout_us), [&] { return !q_.empty() || woken_; });
  woken_ = false;
  return std::exchange(q_, {});
}

node_process::node_process(std::uint32_t node, const std::string& exe, const std::string& config,
                           const std::string& log, inbox& in) {
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0)
    throw std::runtime_error("testbed: pipe: " + std::string(std::strerror(errno)));
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    throw std::runtime_error("testbed: pipe: " + std::string(std::strerror(errno)));
  }
  int err = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // The child: dies with the testbed, reads commands on stdin.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    if (err >= 0)
      dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execl(exe.c_str(), exe.c_str(), "node", "--config", config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int fork_errno = errno;
  close(to_child[0]);
  close(from_child[1]);
  if (err >= 0)
    close(err);
  if (pid_ < 0) {
    close(to_child[1]);
    close(from_child[0]);
    throw std::runtime_error("testbed: fork: " + std::string(std::strerror(fork_errno)));
  }
  in_fd_ = to_child[1];
  out_fd_ = from_child[0];
  reader_ = std::thread([this, node, &in, fd = out_fd_] {
    std::string line;
    char buf[65536];
    for (;;) {
      auto n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\n') {
          in.push({node, std::move(line)});
          line.clear();
        } else if (line.size() < line_bytes_max) {
          line.push_back(buf[i]);
        }
      }
    }
    in.push({node, {}, true});
  });
}

node_process::~node_process() {
  if (!exited_) {
    signal(SIGKILL);
    wait();
  }
  close_control();
  if (reader_.joinable())
    reader_.join();
  if (out_fd_ >= 0)
    close(out_fd_);
}

bool node_process::send_line(const std::string& line) {
  if (in_fd_ < 0)
    return false;
  std::string l = line + "\n";
  const char* p = l.data();
  std::size_t left = l.size();
  while (left > 0) {
    auto n = write(in_fd_, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false; // EPIPE: the node is gone (SIGPIPE is ignored by the testbed)
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

void node_process::close_control() {
  if (in_fd_ >= 0)
    close(in_fd_);
  in_fd_ = -1;
}

void node_process::signal(int sig) {
  if (!exited_ && pid_ > 0)
    kill(pid_, sig);
}

bool node_process::reap() {
  if (exited_)
    return true;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    exited_ = true;
    status_ = st;
  }
  return exited_;
}

int node_process::wait() {
  while (!exited_) {
    int st = 0;
    auto r = waitpid(pid_, &st, 0);
    if (r == pid_) {
      exited_ = true;
      status_ = st;
    } else if (r < 0 && errno != EINTR) {
      exited_ = true;
    }
  }
  return status_;
}

} // namespace peerlab::app::testbed
