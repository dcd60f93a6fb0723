// peerlab: run, check, sweep and validate scenarios; start live nodes.
#include "apps/peerlab/args.hpp"
#include "apps/peerlab/commands.hpp"
#include "apps/peerlab/drop_gateway_command.hpp"
#include "apps/peerlab/droplog_table_command.hpp"
#include "apps/peerlab/merge_command.hpp"
#include "apps/peerlab/mirror_command.hpp"
#include "apps/peerlab/node_command.hpp"
#include "apps/peerlab/set_command.hpp"

#include <cstdio>
#include <string>

namespace {

using namespace peerlab;

int help_command(int argc, char** argv);

struct subcommand {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv); // argv[0] is the subcommand's name
};

// Every subcommand, in the order `peerlab help` lists them. Adding one is one line.
const subcommand subcommands[] = {
  {"run", "simulate a scenario once, append the run to a results file", app::run_command},
  {"check", "run a scenario twice (or on both engines) and compare fingerprints",
   app::check_command},
  {"sweep", "simulate a scenario over seeds and a grid of settings, locally or on Slurm",
   app::sweep_command},
  {"merge", "combine results files (a sweep's shards) into one", app::merge_command},
  {"validate", "check scenario files against the schema", app::validate_command},
  {"fuzz", "swarm testing: many runs with drawn seeds and faults, failures shrunk",
   app::fuzz_command},
  {"testbed", "run a scenario as live node processes on real sockets", app::testbed_command},
  {"parity", "run a scenario simulated and live, compare key outcomes", app::parity_command},
  {"node", "run one live node from a JSON config", net::node_command},
  {"id", "print a live node's peer id (creating its key if needed)", net::id_command},
  {"set", "upload, fetch with Merkle proofs, and list replicated file sets", net::set_command},
  {"mirror", "copy a folder to another, injecting truncation, corruption and delay",
   net::mirror_command},
  {"drop-gateway", "one side of the HTTP-over-file-drop gateway", net::drop_gateway_command},
  {"droplog-table", "the droplog goodput table over the simulated file-drop channel",
   app::droplog_table_command},
  {"help", "print this list, or the usage of one subcommand", help_command},
};

const subcommand* find(const std::string& name) {
  for (auto& c : subcommands)
    if (name == c.name)
      return &c;
  return nullptr;
}

void overview(std::FILE* to) {
  std::fputs("usage: peerlab SUBCOMMAND [options]\n"
             "       peerlab help SUBCOMMAND | peerlab SUBCOMMAND --help\nsubcommands:\n",
             to);
  for (auto& c : subcommands)
    std::fprintf(to, "  %-14s %s\n", c.name, c.summary);
  std::fputs(app::exit_codes_text, to);
}

int help_command(int argc, char** argv) {
  if (argc < 2) {
    overview(stdout);
    return app::exit_code::ok;
  }
  std::string name = argv[1];
  auto* c = find(name);
  if (!c || name == "help") {
    if (name == "--help" || name == "-h" || name == "help") {
      overview(stdout);
      return app::exit_code::ok;
    }
    std::fprintf(stderr, "peerlab help: unknown subcommand \"%s\"\n", name.c_str());
    overview(stderr);
    return app::exit_code::usage;
  }
  std::string self = c->name, flag = "--help";
  char* args[] = {self.data(), flag.data(), nullptr};
  return c->run(2, args);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    overview(stderr);
    return app::exit_code::usage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h") {
    overview(stdout);
    return app::exit_code::ok;
  }
  auto* c = find(name);
  if (!c) {
    std::fprintf(stderr, "peerlab: unknown subcommand \"%s\"\n", name.c_str());
    overview(stderr);
    return app::exit_code::usage;
  }
  try {
    return c->run(argc - 1, argv + 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peerlab %s: %s\n", c->name, e.what());
    return app::exit_code::runtime;
  }
}
