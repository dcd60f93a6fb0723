#include "apps/peerlab/node_control.hpp"

#include "protocols/common/sha256.hpp" // bytes_from_hex

#include <nlohmann/json.hpp>

#include <optional>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <unistd.h>

namespace peerlab::app {

bool parse_control_line(const std::string& text, control_line& out, std::string& error) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "expected one JSON object per line";
    return false;
  }
  for (auto& [k, v] : j.items())
    if (k != "id" && k != "role" && k != "verb" && k != "args") {
      error = "unknown key \"" + k + "\" (expected id, role, verb, args)";
      return false;
    }
  auto id = j.find("id");
  if (id == j.end() || !id->is_number_unsigned() || id->get<std::uint64_t>() == 0 ||
      id->get<std::uint64_t>() >= (std::uint64_t{1} << 56)) {
    error = "id: expected an integer from 1 to 2^56-1";
    return false;
  }
  out.id = id->get<std::uint64_t>();
  for (auto key : {"role", "verb"}) {
    auto v = j.find(key);
    if (v == j.end() || !v->is_string() || v->get<std::string>().empty()) {
      error = std::string(key) + ": expected a non-empty string";
      return false;
    }
  }
  out.role = j["role"].get<std::string>();
  out.verb = j["verb"].get<std::string>();
  out.args.clear();
  if (auto a = j.find("args"); a != j.end()) {
    if (!a->is_array() || a->size() > control_bounds::args_max) {
      error = "args: expected an array of at most " + std::to_string(control_bounds::args_max) +
              " strings";
      return false;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto& v = (*a)[i];
      if (v.is_string()) {
        out.args.push_back(v.get<std::string>());
        continue;
      }
      // Bytes that are not UTF-8 (a message body) travel as {"hex": "..."}.
      std::optional<bytes> raw;
      if (v.is_object() && v.size() == 1 && v.contains("hex") && v["hex"].is_string())
        raw = bytes_from_hex(v["hex"].get<std::string>());
      if (!raw) {
        error = "args[" + std::to_string(i) + "]: expected a string or {\"hex\": \"...\"}";
        return false;
      }
      out.args.emplace_back(raw->begin(), raw->end());
    }
  }
  return true;
}

control_reader::control_reader(int fd, on_line_fn on_line, on_error_fn on_error, on_end_fn on_end)
    : fd_(fd), on_line_(std::move(on_line)), on_error_(std::move(on_error)),
      on_end_(std::move(on_end)) {
  if (pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error("control: cannot create a pipe");
  thread_ = std::thread([this] { run(); });
}

control_reader::~control_reader() {
  char b = 1;
  [[maybe_unused]] auto n = write(wake_[1], &b, 1);
  thread_.join();
  close(wake_[0]);
  close(wake_[1]);
}

void control_reader::run() {
  std::string line;
  bool skipping = false; // the rest of a line that was too long
  std::uint64_t number = 0;
  char buf[65536];
  for (;;) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents)
      return; // destroyed: the node stops by other means
    auto n = read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0)
      break; // end of input
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\n') {
        if (!skipping && line.size() < control_bounds::line_bytes_max)
          line.push_back(buf[i]);
        else if (!skipping) {
          skipping = true;
          line.clear();
        }
        continue;
      }
      ++number;
      if (skipping)
        on_error_(number,
                  "line longer than " + std::to_string(control_bounds::line_bytes_max) + " bytes");
      else if (!line.empty()) {
        control_line c;
        std::string error;
        if (parse_control_line(line, c, error))
          on_line_(c);
        else
          on_error_(number, error);
      }
      skipping = false;
      line.clear();
    }
  }
  on_end_();
}

} // namespace peerlab::app
