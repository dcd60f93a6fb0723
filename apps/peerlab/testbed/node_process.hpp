#pragma once
// One `peerlab node` child process of the testbed: its stdin is the node's
// control channel (apps/peerlab/node_control.hpp), its stdout lines go to an
// inbox the testbed's loop reads, its stderr to a log file. The child dies
// with the testbed (PR_SET_PDEATHSIG), so nothing outlives an interrupted run.
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace peerlab::app::testbed {

/// Lines from every node, in arrival order: (node, line); an empty line with
/// `closed` set says the node's stdout ended (it exited).
struct inbox_entry {
  std::uint32_t node;
  std::string line;
  bool closed = false;
};

class inbox {
public:
  void push(inbox_entry e);
  /// Waits until an entry arrives or `wake` is set by notify(); takes all.
  std::deque<inbox_entry> wait_for(std::int64_t timeout_us);
  void notify();

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<inbox_entry> q_;
  bool woken_ = false;
};

/// A node in its own network namespace (docs/testbed.md, "Network"): the
/// child unshares a fresh one; the testbed adds a veth pair whose one end
/// (`veth`) joins the bridge `bridge` of the testbed's namespace and whose
/// other end becomes the child's eth0 with `cidr`. The namespace dies with
/// the process.
struct netns_plan {
  std::string veth;   // the bridge-side name, unique per incarnation
  std::string bridge; // in the testbed's own network namespace
  std::string cidr;   // "10.77.0.5/16"
};

class node_process {
public:
  /// Starts `exe node --config CONFIG`; stderr appends to `log`. Throws
  /// std::runtime_error if the process cannot be started.
  node_process(std::uint32_t node, const std::string& exe, const std::string& config,
               const std::string& log, inbox& in, const netns_plan* netns = nullptr);
  ~node_process(); // kills the process if it still runs, joins the reader
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  /// Writes one control line (a newline is added); false if the node is gone.
  bool send_line(const std::string& line);
  /// Closes stdin: the node stops gracefully (its roles say goodbye).
  void close_control();
  void signal(int sig);
  /// Reaps the process if it exited; true once it has.
  bool reap();
  /// Waits for the exit; returns the exit status as waitpid gives it.
  int wait();
  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }
  int status() const { return status_; }

private:
  pid_t pid_ = -1;
  int in_fd_ = -1;  // the child's stdin
  int out_fd_ = -1; // the child's stdout
  bool exited_ = false;
  int status_ = 0;
  std::thread reader_;
};

/// Runs `ip ARGS...` and waits; the error names the command if it failed.
void run_ip(const std::vector<std::string>& args);

/// Moves the calling process into a fresh network namespace with a bridge
/// `name` (up) and loopback; false (with `why`) when the machine does not
/// allow it (not root, or no network namespaces).
bool enter_private_network(const std::string& bridge, std::string& why);

} // namespace peerlab::app::testbed
