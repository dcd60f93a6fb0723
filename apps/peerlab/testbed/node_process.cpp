#include "apps/peerlab/testbed/node_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace peerlab::app::testbed {

namespace {
constexpr std::size_t line_bytes_max = 4u << 20; // a node's event line; longer ones are cut

const char* ip_binary() {
  for (auto* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (access(p, X_OK) == 0)
      return p;
  return "ip";
}

// fork + exec + wait, usable in the child between fork and exec (no threads there).
int spawn_wait(const std::vector<std::string>& args, int err_fd) {
  pid_t p = fork();
  if (p == 0) {
    if (err_fd >= 0) {
      dup2(err_fd, 1);
      dup2(err_fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (p < 0)
    return -1;
  int st = 0;
  while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

} // namespace

void run_ip(const std::vector<std::string>& args) {
  std::vector<std::string> cmd{ip_binary()};
  cmd.insert(cmd.end(), args.begin(), args.end());
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int rc = spawn_wait(cmd, null);
  if (null >= 0)
    close(null);
  if (rc != 0) {
    std::string text = "ip";
    for (auto& a : args)
      text += " " + a;
    throw std::runtime_error("testbed: `" + text + "` failed (exit " + std::to_string(rc) + ")");
  }
}

bool enter_private_network(const std::string& bridge, std::string& why) {
  if (geteuid() != 0) {
    why = "not root";
    return false;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    why = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    return false;
  }
  try {
    run_ip({"link", "set", "lo", "up"});
    run_ip({"link", "add", bridge, "type", "bridge"});
    run_ip({"link", "set", bridge, "up"});
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
  return true;
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
                           const std::string& log, inbox& in, const netns_plan* netns) {
  int ready[2] = {-1, -1}, go[2] = {-1, -1}; // netns hand-shake: child unshared / veth is in
  if (netns && (pipe2(ready, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0))
    throw std::runtime_error("testbed: pipe: " + std::string(std::strerror(errno)));
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
    if (netns) {
      char b = 1;
      if (unshare(CLONE_NEWNET) != 0 || write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1 ||
          b != 1)
        _exit(126);
      std::string ip = ip_binary();
      if (spawn_wait({ip, "link", "set", "lo", "up"}, 2) != 0 ||
          spawn_wait({ip, "addr", "add", netns->cidr, "dev", "eth0"}, 2) != 0 ||
          spawn_wait({ip, "link", "set", "eth0", "up"}, 2) != 0)
        _exit(126);
    }
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
  if (netns) { // the child is in its own namespace: give it its end of a veth
    close(ready[1]);
    close(go[0]);
    char b = 0;
    bool ok = read(ready[0], &b, 1) == 1;
    std::string error;
    if (ok) {
      try {
        run_ip({"link", "add", netns->veth, "type", "veth", "peer", "name", "eth0", "netns",
                std::to_string(pid_)});
        run_ip({"link", "set", netns->veth, "master", netns->bridge, "up"});
      } catch (const std::exception& e) {
        ok = false;
        error = e.what();
      }
    }
    b = ok ? 1 : 0;
    [[maybe_unused]] auto w = write(go[1], &b, 1);
    close(ready[0]);
    close(go[1]);
    if (!ok) {
      kill(pid_, SIGKILL);
      wait();
      close(in_fd_);
      close(out_fd_);
      throw std::runtime_error(error.empty() ? "testbed: node " + std::to_string(node) +
                                                 " could not enter its network namespace"
                                             : error);
    }
  }
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
