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

/// No limit on what a download may cost.
constexpr std::uint64_t no_max_price = UINT64_MAX;

/// Downloads the file with SHA-256 `hash` from `providers`, tried in order and
/// again while attempts remain. A provider whose metadata asks more than
/// `max_price` is skipped, and the node's payer pays at most `max_price` for
/// the whole download. Replies download_started, then download_done or
/// download_failed.
struct download_file {
  static constexpr std::string_view verb = "download";
  digest hash{};
  std::vector<peer_id> providers;
  std::uint64_t max_price = no_max_price;
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

/// Text form: download HASH PEER... [max_price=N], lookup HASH [PEER...]
/// (64 hex digits, decimal peer ids and amount).
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);

/// What a paid download tells the node's payer (ports::payer, through
/// effects::ask; no reply): once per provider whose metadata it accepted
/// (`length` 0: the order, at the announced `price` and `size`), then once per
/// chunk that brought new bytes from that provider. The payer pays a bill only
/// against these reports (docs/protocols/market.md, "Payer").
struct purchase_report {
  static constexpr std::string_view verb = "purchase";
  std::uint64_t download = 0; // one id per download command of this node
  peer_id provider = 0;
  digest hash{};
  std::uint64_t price = 0, size = 0, max_price = no_max_price;
  std::uint64_t offset = 0, length = 0; // the bytes that arrived
  void describe(std::string& out) const;
};
using purchase_reports = std::variant<purchase_report>;

} // namespace peerlab::filexfer
