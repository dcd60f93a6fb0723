#include "apps/peerlab/drop_gateway_command.hpp"

#include "apps/peerlab/args.hpp"

#include "protocols/registry.hpp"
#include "net/drop_gateway.hpp"

#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <string>

namespace peerlab::net {

namespace {

const app::command_help drop_gateway_help{
  "drop-gateway",
  "--config FILE",
  "Runs one side of the HTTP-over-file-drop gateway (docs/live.md).",
  {{"config", "FILE", "the side's configuration (required)"}},
  "Side a prints {\"event\":\"drop_gateway_listening\",\"port\":P}; metrics are JSON lines\n"
  "on stdout, log lines on stderr. Stops on SIGINT/SIGTERM or after run_for."};

int run_gateway(const std::string& config) {
  drop_gateway_config cfg = load_drop_gateway_config(config); // config_error: exit 2
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
    return app::exit_code::runtime;
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

} // namespace

int drop_gateway_command(int argc, char** argv) {
  return app::run_parsed(drop_gateway_help, argc, argv, [](const app::args& a) {
    if (!a.positional().empty())
      throw app::usage_error("unexpected argument \"" + a.positional()[0] + "\"");
    return run_gateway(a.required("config"));
  });
}

} // namespace peerlab::net
