#pragma once
// `peerlab drop-gateway --config FILE`: runs one side of the HTTP-over-file-drop
// gateway until SIGINT/SIGTERM or run_for, as a live node (the droplog role,
// its folder transport, side a's listener or side b's upstream) built from the
// side's config. Side a prints {"event":"drop_gateway_listening","port":N} on
// stdout once it accepts connections; both sides print a metrics JSON line
// every metrics_interval and when they stop. See docs/live.md, "File-drop
// gateways".
//
// Exit codes: 0 fine, 2 bad command line or config, 3 could not start
// (address in use, folder not writable...).
namespace peerlab::net {

/// argv[0] is "drop-gateway"; then `--config FILE`. Returns the process exit code.
int drop_gateway_command(int argc, char** argv);

} // namespace peerlab::net
