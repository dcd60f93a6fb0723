#pragma once
// The downloader's table (docs/tables.md).
#include "protocols/common/table.hpp"

namespace peerlab::filexfer {

/// DownloadFiles(hash BLOB[32], name TEXT, size, price, provider (u64),
/// payment_ref BLOB, finished_at, duration_us): the download history,
/// one row per verified file.
const table_schema& download_files_table();

} // namespace peerlab::filexfer
