#include "apps/peerlab/drop_gateway_command.hpp"

#include "apps/peerlab/args.hpp"
#include "apps/peerlab/node_command.hpp"

#include "net/drop_gateway_config.hpp"
#include "net/node_config.hpp"
#include "protocols/droplog/drop_role.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace peerlab::net {

namespace {

const app::command_help drop_gateway_help{
  "drop-gateway",
  "--config FILE",
  "Runs one side of the HTTP-over-file-drop gateway (docs/live.md): a node with the droplog\n"
  "role, its folder transport and side a's HTTP listener or side b's upstream.",
  {{"config", "FILE", "the side's configuration (required)"}},
  "Side a prints {\"event\":\"drop_gateway_listening\",\"port\":P}; drop_gateway_metrics and\n"
  "the node's events are JSON lines on stdout, log lines on stderr. Stops on SIGINT/SIGTERM\n"
  "or after run_for."};

// Removes the scratch folder of a gateway without state_db when it stops.
struct scratch_dir {
  std::filesystem::path path;
  ~scratch_dir() {
    std::error_code ec;
    if (!path.empty())
      std::filesystem::remove_all(path, ec);
  }
};

/// The node a side's config describes: the droplog role with one peer, its
/// packet files in out_dir/in_dir, and side a's listener or side b's upstream.
node_config to_node_config(const drop_gateway_config& g, scratch_dir& scratch) {
  node_config c;
  c.name = g.name;
  c.plaintext = true; // node ids are SHA-256 prefixes of the names, as the folders expect
  c.listen = "127.0.0.1:0";
  c.run_for = g.run_for;
  if (g.state_db) { // the node's rows are that file; its other files sit next to it
    c.db_file = *g.state_db;
    c.data_dir = g.state_db->parent_path() / (g.state_db->filename().string() + ".node");
  } else {
    auto tmpl = (std::filesystem::temp_directory_path() / "peerlab-drop-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("cannot create a scratch folder in " +
                               std::filesystem::temp_directory_path().string());
    scratch.path = tmpl;
    c.data_dir = scratch.path;
  }
  const bool side_a = g.side == drop_gateway_config::side_t::a;
  droplog::role_config r;
  r.session = g.session;
  r.peers = {g.session.remote};
  r.delete_files = true;
  r.serve_http = !side_a;
  r.external_upstream = !side_a;
  r.max_http_body = g.max_body;
  r.http_timeout = g.request_timeout;
  r.max_pending_http = g.max_connections;
  c.roles = {droplog::make_drop_role(r)};
  drop_folders_config f;
  f.out_dir = g.out_dir;
  f.in_dir = g.in_dir;
  // Scans follow inotify; poll_interval now sets only the safety rescan.
  f.rescan_interval = std::max<time_us>(g.poll_interval, 1 * us_per_s);
  c.drop_folders = f;
  drop_http_config h;
  h.side_a = side_a;
  h.listen = g.listen;
  h.peer = g.session.remote;
  h.request_timeout = g.request_timeout;
  h.max_connections = g.max_connections;
  h.upstream = g.upstream;
  h.upstream_timeout = g.upstream_timeout;
  h.max_in_flight = g.max_upstream_in_flight;
  h.max_queue = g.max_upstream_queue;
  h.max_body = g.max_body;
  h.metrics_interval = g.metrics_interval;
  c.drop_http = h;
  return c;
}

int run_gateway(const std::string& config) {
  drop_gateway_config cfg = load_drop_gateway_config(config); // config_error: exit 2
  scratch_dir scratch;
  node_config node;
  try {
    node = to_node_config(cfg, scratch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peerlab drop-gateway: cannot start: %s\n", e.what());
    return app::exit_code::runtime;
  }
  return run_node_config(std::move(node));
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
