#include "apps/peerlab/scenario_io.hpp"

#include "apps/peerlab/args.hpp"
#include "protocols/registry.hpp" // config_error

#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

#include <cstdio>

namespace peerlab::app {

sim::scenario load_scenario_or_fail(const std::string& path) {
  try {
    return sim::load_scenario(path);
  } catch (const config_error& e) {
    std::string msg = e.what();
    if (msg.rfind(path, 0) != 0)
      msg = path + ": " + msg;
    throw config_error(msg);
  }
}

std::string git_commit() {
#ifdef PEERLAB_SOURCE_DIR
  std::string cmd =
    std::string("git -C '") + PEERLAB_SOURCE_DIR + "' rev-parse --short=12 HEAD 2>/dev/null";
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[64] = {0};
    bool ok = std::fgets(buf, sizeof buf, p) != nullptr;
    pclose(p);
    if (ok) {
      std::string s = buf;
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
      if (!s.empty())
        return s;
    }
  }
#endif
  return "unknown";
}

std::string self_exe() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    throw std::runtime_error("cannot find the peerlab binary (/proc/self/exe)");
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::uint64_t> seed_option(const args& a) {
  auto sd = a.value("seed");
  if (!sd)
    return std::nullopt;
  auto v = parse_count(*sd);
  if (!v)
    throw usage_error("--seed: expected a non-negative integer, got \"" + *sd + "\"");
  return *v;
}

double parse_time_scale(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(v > 0) || v > 1000)
    throw usage_error("--time-scale: expected a number in (0, 1000], got \"" + text + "\"");
  return v;
}

} // namespace peerlab::app
