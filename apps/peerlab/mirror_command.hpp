#pragma once
// `peerlab mirror SRC DST --truncate P --corrupt P --delay D [--seed N]
//  [--run-for D] [--poll D]`: copies SRC/<sub>/<file> to DST/<sub>/<file>
// the way the real mirroring service does (late, often truncated, rarely
// bit-flipped), until SIGINT/SIGTERM or --run-for. Prints one JSON line of
// counters on stdout when it stops. See docs/live.md, "File-drop gateways".
//
// Exit codes: 0 fine, 2 bad command line.
namespace peerlab::net {

/// argv[0] is "mirror". Returns the process exit code.
int mirror_command(int argc, char** argv);

} // namespace peerlab::net
