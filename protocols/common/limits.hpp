#pragma once
// Every bound of the project in one place. Input past a bound is rejected with
// an error and counted; nothing already stored is dropped to make room.
#include <cstddef>
#include <cstdint>

namespace peerlab::limits {

/// Largest frame a node accepts from the network (live and simulated).
constexpr std::size_t frame_bytes_max = 4u << 20;
/// Largest chunk of file content in one frame.
constexpr std::size_t chunk_bytes_max = 1u << 20;
/// Default chunk size for file content.
constexpr std::size_t default_chunk_bytes = 64u << 10;
/// Longest file name carried in metadata.
constexpr std::size_t file_name_max = 255;
/// Longest error message carried in a frame.
constexpr std::size_t error_text_max = 512;
/// Concurrent downloads one downloader runs; further requests are refused.
constexpr std::size_t active_downloads_max = 256;
/// Concurrent content streams one provider serves; further requests get "busy".
constexpr std::size_t active_uploads_max = 1024;
/// Concurrent content streams one provider serves to one peer: as many as one
/// download may keep open (filexfer bounds::open_windows_max, re-requests
/// included), so one peer cannot take every upload slot.
constexpr std::size_t uploads_per_peer_max = 256;
/// A provider sends chunks of at least this size (or its own chunk size, if
/// smaller) whatever the request asks: a request for 1-byte chunks would
/// cost a frame, a hash update and a turn per byte.
constexpr std::size_t chunk_bytes_min = 4096;
/// Providers remembered per download.
constexpr std::size_t providers_per_download_max = 64;
/// Largest file a simulated or live node will download.
constexpr std::uint64_t file_bytes_max = 64ull << 30;
/// Outbound bytes queued for one live connection before new frames are refused.
constexpr std::size_t conn_queue_bytes_max = 64u << 20;
/// Events the simulator may hold in its queue before the run stops with an error.
constexpr std::size_t sim_events_max = 200'000'000;
/// Command arguments (verbs and values) accepted by a role.
constexpr std::size_t command_args_max = 64;
/// Longest simulated run (1000 years, in µs). Any parsed duration is below
/// 9e18 µs, so "now + a duration" stays below 2^63 and cannot overflow.
constexpr std::int64_t scenario_us_max = 1000ll * 365 * 86400 * 1000000;
/// Slowest simulated link (1 kbit/s): a largest frame still leaves in hours.
constexpr double rate_bytes_per_s_min = 125;
/// Rows of the metric series of one run; validation rejects intervals that
/// need more, and the simulator stops sampling at this bound.
constexpr std::size_t metric_rows_max = 10'000'000;
/// Events the simulator processes at one virtual time before its watchdog
/// stops the run as a livelock: this many, or 64 per node if that is more.
constexpr std::uint64_t events_per_instant_max = 10'000'000;
constexpr std::uint64_t events_per_instant_per_node_max = 64;
/// Distinct failure reasons kept per run; further ones are counted as "other".
constexpr std::size_t failure_reasons_max = 1000;

} // namespace peerlab::limits
