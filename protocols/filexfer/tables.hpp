#pragma once
// The downloader's table (docs/tables.md).
#include "protocols/common/table.hpp"

namespace peerlab::filexfer {

/// DownloadFiles(hash BLOB[32], name TEXT, size, price, provider (u64),
/// payment_ref BLOB, finished_at, duration_us): the download history,
/// one row per verified file.
const table_schema& download_files_table();

/// PartialDownloads(hash BLOB[32], download (u64), providers BLOB (u64 LE
/// each), provider_index, max_price, name TEXT, size, price, verified,
/// verified_sha256 BLOB): one row per download that has not ended, so a
/// restarted downloader resumes it. `verified` bytes from the start of the
/// partial file hashed to `verified_sha256` when the row was written (empty
/// blob: nothing verified; size 0: no metadata yet).
const table_schema& partial_downloads_table();

} // namespace peerlab::filexfer
