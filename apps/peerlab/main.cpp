// peerlab: run, check, sweep and validate scenarios; start live nodes.
#include "apps/peerlab/commands.hpp"
#include "apps/peerlab/node_command.hpp"
#include "apps/peerlab/set_command.hpp"
#include "apps/peerlab/mirror_command.hpp"
#include "apps/peerlab/drop_gateway_command.hpp"

#include <cstdio>
#include <cstring>
#include <string>

namespace {

void usage() {
  std::fprintf(
    stderr,
    "usage:\n"
    "  peerlab run SCENARIO [--seed N] [--out results.db] [--engine actors|direct] [--quiet]\n"
    "  peerlab check SCENARIO [--seed N] [--engine actors|direct] [--against actors|direct]\n"
    "  peerlab sweep SCENARIO --seeds A..B [--out results.db] [--engine actors|direct]\n"
    "  peerlab validate SCENARIO...\n"
    "  peerlab node --config node.json\n"
    "  peerlab set upload|get|list ...   (replicated file sets; peerlab set --help)\n"
    "  peerlab mirror SRC DST [--truncate P] [--corrupt P] [--delay D] [--seed N] [--run-for D]\n"
    "  peerlab drop-gateway --config gateway.json\n"
    "exit codes: 0 ok, 1 a checker failed or runs differ, 2 bad usage or input\n");
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "run")
      return peerlab::app::run_command(argc - 1, argv + 1);
    if (cmd == "check")
      return peerlab::app::check_command(argc - 1, argv + 1);
    if (cmd == "sweep")
      return peerlab::app::sweep_command(argc - 1, argv + 1);
    if (cmd == "validate")
      return peerlab::app::validate_command(argc - 1, argv + 1);
    if (cmd == "node")
      return peerlab::net::node_command(argc - 1, argv + 1);
    if (cmd == "set")
      return peerlab::net::set_command(argc - 1, argv + 1);
    if (cmd == "mirror")
      return peerlab::net::mirror_command(argc - 1, argv + 1);
    if (cmd == "drop-gateway")
      return peerlab::net::drop_gateway_command(argc - 1, argv + 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peerlab %s: %s\n", cmd.c_str(), e.what());
    return 2;
  }
  std::fprintf(stderr, "peerlab: unknown command \"%s\"\n", cmd.c_str());
  usage();
  return 2;
}
