#pragma once
// `peerlab node --config FILE`: runs one live node until it is told to stop
// (SIGINT/SIGTERM), until run_for has passed, or, with exit_when_done, until
// every configured download has ended. Prints one JSON line per event on
// stdout; log lines go to stderr. See docs/live.md.
//
// Exit codes: 0 fine, 1 a configured download failed or the node could not
// start (address in use...), 2 bad command line or config.

namespace peerlab::net {

struct node_config;

/// Runs a node from a parsed config (what `peerlab node` does after reading
/// its file; `peerlab drop-gateway` builds one). Returns the exit code.
int run_node_config(node_config cfg);

/// argv[0] is "node"; then `--config FILE`. Returns the process exit code.
int node_command(int argc, char** argv);
/// `peerlab id --config FILE`: the node's peer id (its key is created if missing).
int id_command(int argc, char** argv);

} // namespace peerlab::net
