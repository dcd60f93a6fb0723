#pragma once
// The file-set store's tables (docs/tables.md). Leaf hashes have their own
// table so that a restart rebuilds every Merkle tree without reading content.
#include "protocols/common/table.hpp"

namespace peerlab::fileset {

/// FileSets(set_id TEXT, file_count INTEGER, complete INTEGER 0/1,
/// root BLOB: 32 bytes once complete, else empty).
const table_schema& sets_table();
/// FileSetFiles(set_id TEXT, file_index INTEGER, content BLOB).
const table_schema& files_table();
/// FileSetLeaves(set_id TEXT, file_index INTEGER, leaf BLOB[32]):
/// H(0x00 || content) of each stored file.
const table_schema& leaves_table();

} // namespace peerlab::fileset
