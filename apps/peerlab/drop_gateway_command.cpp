#include "apps/peerlab/drop_gateway_command.hpp"

#include "actors/node_roles.hpp"
#include "net/drop_gateway.hpp"

#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <cstring>
#include <string>

namespace peerlab::net {

int drop_gateway_command(int argc, char** argv) {
  std::string config;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
      config = argv[++i];
    } else {
      std::fprintf(stderr, "usage: peerlab drop-gateway --config FILE\n");
      return 2;
    }
  }
  if (config.empty()) {
    std::fprintf(stderr, "usage: peerlab drop-gateway --config FILE\n");
    return 2;
  }
  drop_gateway_config cfg;
  try {
    cfg = load_drop_gateway_config(config);
  } catch (const config_error& e) {
    std::fprintf(stderr, "peerlab drop-gateway: %s\n", e.what());
    return 2;
  }
  boost::asio::io_context io;
  auto log = [](const std::string& line) {
    // Metrics are JSON objects (stdout); everything else is a log line (stderr).
    std::FILE* to = !line.empty() && line[0] == '{' ? stdout : stderr;
    std::fprintf(to, "%s\n", line.c_str());
    std::fflush(to);
  };
  std::unique_ptr<drop_gateway> gw;
  try {
    gw = std::make_unique<drop_gateway>(io, cfg, log);
    gw->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peerlab drop-gateway: cannot start: %s\n", e.what());
    return 1;
  }
  if (cfg.side == drop_gateway_config::side_t::a) {
    std::printf("{\"event\":\"drop_gateway_listening\",\"port\":%u}\n",
                static_cast<unsigned>(gw->port()));
    std::fflush(stdout);
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  boost::asio::steady_timer deadline(io);
  if (cfg.run_for) {
    deadline.expires_after(std::chrono::microseconds(*cfg.run_for));
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec)
        io.stop();
    });
  }
  io.run();
  log(gw->metrics_json());
  gw->stop();
  gw.reset();
  return 0;
}

} // namespace peerlab::net
