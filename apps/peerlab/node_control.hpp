#pragma once
// The control channel of a live node ("control": "stdin" in its config): one
// JSON object per line on stdin, each a role command, the same commands a
// simulator workload issues (peerlab testbed drives nodes this way):
//
//   {"id": 7, "role": "downloader", "verb": "download", "args": ["<hash>", "<peer id>"]}
//
// An argument that is not UTF-8 text (a message body) is written {"hex": "..."}.
// The answer is the role's own event line on stdout, with "command_id": 7.
// End of input stops the node like SIGTERM, so a node never outlives the
// process that drives it. A line that is not such an object gets one
// {"event": "control_error", "line": N, "error": "..."} line and is skipped.
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace peerlab::app {

struct control_line {
  std::uint64_t id = 0;
  std::string role;
  std::string verb;
  std::vector<std::string> args;
};

namespace control_bounds {
constexpr std::size_t line_bytes_max = 1u << 20; // a longer line is refused, then skipped
constexpr std::size_t args_max = 4096;
} // namespace control_bounds

/// Parses one line; the error names the field that was wrong.
bool parse_control_line(const std::string& text, control_line& out, std::string& error);

class control_reader {
public:
  using on_line_fn = std::function<void(const control_line&)>;
  using on_error_fn = std::function<void(std::uint64_t line, const std::string& error)>;
  using on_end_fn = std::function<void()>;

  /// Reads `fd` on its own thread until end of input (then `on_end`) or until
  /// destroyed. Blocks in poll() on the fd and a wake pipe: no timeouts.
  control_reader(int fd, on_line_fn on_line, on_error_fn on_error, on_end_fn on_end);
  ~control_reader();
  control_reader(const control_reader&) = delete;
  control_reader& operator=(const control_reader&) = delete;

private:
  void run();
  int fd_;
  int wake_[2] = {-1, -1};
  on_line_fn on_line_;
  on_error_fn on_error_;
  on_end_fn on_end_;
  std::thread thread_;
};

} // namespace peerlab::app
