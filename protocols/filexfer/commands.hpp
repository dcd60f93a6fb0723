#pragma once
// The downloader's command, as a type; its text form is parsed here only.
#include "protocols/common/command.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::filexfer {

/// Downloads the file with SHA-256 `hash` from `providers`, tried in order and
/// again while attempts remain. Replies download_started, then download_done
/// or download_failed.
struct download_file {
  static constexpr std::string_view verb = "download";
  digest hash{};
  std::vector<peer_id> providers;
  void describe(std::string& out) const;
};

/// Asks each of `peers` for the metadata (name, size, price) of `hash`, without
/// downloading. Replies one lookup_answer per peer, then lookup_done
/// (protocols/filexfer/downloader_lookup.cpp).
struct lookup_metadata {
  static constexpr std::string_view verb = "lookup";
  digest hash{};
  std::vector<peer_id> peers;
  void describe(std::string& out) const;
};

using command = std::variant<download_file, lookup_metadata>;

/// Text form: download HASH PEER..., lookup HASH [PEER...] (64 hex digits,
/// decimal peer ids).
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

} // namespace peerlab::filexfer
