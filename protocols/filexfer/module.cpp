// The file-transfer module: the downloader role and its table. The provider
// role is registered by the market module, which adds its payment gate.
#include "protocols/common/config_fields.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/module.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/filexfer/tables.hpp"

namespace peerlab::filexfer {

namespace {

using nlohmann::json;

std::shared_ptr<role> downloader_from_json(const json& p, const std::string& path,
                                           const std::string&) {
  cfg::only_keys(p, path,
                 {"role", "chunk_size", "window", "windows_in_flight", "request_timeout",
                  "initial_timeout", "min_timeout", "attempts_per_provider", "max_attempts",
                  "checkpoint", "retry_initial", "retry_max", "retry_deadline"});
  cfg::fields f(p, path);
  filexfer::downloader_config c;
  if (auto* v = cfg::member(p, "chunk_size")) {
    c.chunk_bytes = cfg::get_size(*v, cfg::child(path, "chunk_size"));
    if (c.chunk_bytes == 0 || c.chunk_bytes > limits::chunk_bytes_max)
      cfg::fail(cfg::child(path, "chunk_size"), "a size between 1 B and 1MiB", *v);
  }
  f.size("window", c.window_bytes);
  f.positive("windows_in_flight", c.windows_in_flight);
  f.duration("request_timeout", c.request_timeout);
  // Floors of the adaptive timeout: a paid download waits for confirmations.
  f.duration("initial_timeout", c.initial_timeout);
  f.duration("min_timeout", c.min_timeout);
  f.positive("attempts_per_provider", c.attempts_per_provider);
  f.positive("max_attempts", c.max_attempts);
  // Crash recovery: checkpoint of the verified prefix (0 B: never), and the
  // retry rounds of a download whose providers all failed (deadline 0: none).
  std::size_t checkpoint = c.checkpoint_bytes;
  f.size("checkpoint", checkpoint);
  c.checkpoint_bytes = checkpoint;
  f.duration("retry_initial", c.retry_initial);
  f.duration("retry_max", c.retry_max);
  f.duration("retry_deadline", c.retry_deadline);
  if (c.retry_initial <= 0)
    cfg::fail_msg(cfg::child(path, "retry_initial"), "must be above 0");
  if (c.retry_max < c.retry_initial)
    cfg::fail_msg(cfg::child(path, "retry_max"), "must be at least retry_initial");
  if (c.window_bytes < c.chunk_bytes)
    cfg::fail_msg(path, "window must be at least chunk_size");
  return filexfer::make_downloader(c);
}

} // namespace

std::size_t chunk_size_param(const nlohmann::json& p, const std::string& path) {
  auto* v = cfg::member(p, "chunk_size");
  if (!v)
    return limits::default_chunk_bytes;
  auto n = cfg::get_size(*v, cfg::child(path, "chunk_size"));
  if (n == 0 || n > limits::chunk_bytes_max)
    cfg::fail(cfg::child(path, "chunk_size"), "a size between 1 B and 1MiB", *v);
  return n;
}

const std::vector<std::string>& provider_adversaries() {
  static const std::vector<std::string> names = {"corrupt_content", "truncate_content", "silent"};
  return names;
}

const peerlab::module& module() {
  static const peerlab::module m{
    "filexfer",
    "docs/protocols/filexfer.md",
    {{ports::file_provider, "file_provider"}, {ports::file_downloader, "file_downloader"}},
    {{"downloader", downloader_from_json, {}, R"({"role": "downloader"})"}},
    {&download_files_table(), &partial_downloads_table()},
  };
  return m;
}

} // namespace peerlab::filexfer
