#pragma once
// `peerlab set`: the client of the replicated file sets.
//
//   peerlab set upload --node URL --set ID [--db FILE] [--raw | --json] FOLDER
//   peerlab set get    --node URL --set ID --index I --out FILE [--db FILE] [--raw]
//   peerlab set list   [--db FILE]
//
// upload sends every regular file of FOLDER (sorted by name; index = position)
// to one node, computes the Merkle root locally, checks each hash the node
// returns and records (set id, size, root) in the SQLite file. get downloads
// one file with its proof from any node and verifies it against the recorded
// root, the requested index and the recorded size; a file that fails is an
// error and is never written. Exit codes: 0 ok, 1 the node refused or a
// verification failed, 2 bad usage, 3 network or I/O failure. Docs:
// docs/protocols/fileset.md "Client".

namespace peerlab::net {

/// argv[0] is "set". Returns the process exit code.
int set_command(int argc, char** argv);

} // namespace peerlab::net
