#pragma once
// A site: the origin's listing (each resource's URL, size and SHA-224, the
// hash the seed wants included with every link) and, in the simulator,
// resources whose bytes are a function of their URL.
#include "protocols/cdn/cdn.hpp"
#include "protocols/cdn/hash.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::cdn {

struct listed {
  std::string url;
  std::uint64_t size = 0;
  hash224 sha{};
};

/// Listing text: one line per resource, "<sha224 hex> <size> <url>\n".
std::string listing_text(const std::vector<listed>& items);
/// Strict: a malformed line, a duplicate URL or too many entries is an error.
std::optional<std::vector<listed>> parse_listing(std::string_view text, std::string& err);

/// The bytes of a synthetic resource (the same in every run and build).
bytes synthetic_resource(std::string_view url, std::uint64_t size);

/// A site as its origin serves it: every resource's synthetic bytes and
/// SHA-224, in the configured order, and the listing text. The origin role
/// and a live node's HTTP site both build it from the same config, so both
/// serve the same bytes and the same listing.
struct built_resource {
  listed entry;
  bytes data;
};
struct built_site {
  std::vector<built_resource> resources;
  std::string listing;
};
built_site build_site(const std::vector<resource_spec>& resources);

} // namespace peerlab::cdn
