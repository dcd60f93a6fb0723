#include "protocols/cdn/site.hpp"

#include "protocols/cdn/cdn.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/common/stable_hash.hpp"
#include "protocols/common/text.hpp"

#include <cstring>
#include <set>

namespace peerlab::cdn {

std::string listing_text(const std::vector<listed>& items) {
  std::string out;
  for (auto& i : items)
    out += hex(i.sha) + " " + std::to_string(i.size) + " " + i.url + "\n";
  return out;
}

std::optional<std::vector<listed>> parse_listing(std::string_view text, std::string& err) {
  std::vector<listed> out;
  std::set<std::string, std::less<>> seen;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      err = "line " + std::to_string(line_no) + " has no newline";
      return std::nullopt;
    }
    auto line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    auto bad = [&](const std::string& why) {
      err = "line " + std::to_string(line_no) + ": " + why;
      return std::nullopt;
    };
    auto s1 = line.find(' ');
    auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    if (s2 == std::string_view::npos)
      return bad("expected \"<sha224> <size> <url>\"");
    listed l;
    auto sha = hash_from_hex(line.substr(0, s1));
    if (!sha)
      return bad("not a 56-hex SHA-224");
    l.sha = *sha;
    auto size = parse_u64(line.substr(s1 + 1, s2 - s1 - 1));
    if (!size || *size > bounds::resource_max)
      return bad("size must be 0.." + std::to_string(bounds::resource_max));
    l.size = *size;
    l.url = std::string(line.substr(s2 + 1));
    if (l.url.empty() || l.url.size() > bounds::url_max || l.url.front() != '/' ||
        !is_printable(l.url) || l.url.find(' ') != std::string::npos)
      return bad("the URL must be a path starting with / (no spaces, at most " +
                 std::to_string(bounds::url_max) + " bytes)");
    if (!seen.insert(l.url).second)
      return bad("duplicate URL " + quote_arg(l.url, 80));
    if (out.size() == bounds::listing_entries_max)
      return bad("more than " + std::to_string(bounds::listing_entries_max) + " resources");
    out.push_back(std::move(l));
  }
  return out;
}

bytes synthetic_resource(std::string_view url, std::uint64_t size) {
  rng r(stable_hash(url.data(), url.size(), 0xcd0));
  bytes out(size);
  for (std::uint64_t i = 0; i < size; i += 8) {
    auto w = r.next();
    std::memcpy(out.data() + i, &w, std::min<std::uint64_t>(8, size - i));
  }
  return out;
}

built_site build_site(const std::vector<resource_spec>& resources) {
  built_site site;
  std::vector<listed> items;
  for (auto& r : resources) {
    built_resource b;
    b.data = synthetic_resource(r.url, r.size);
    b.entry = listed{r.url, r.size, sha224_of(b.data)};
    items.push_back(b.entry);
    site.resources.push_back(std::move(b));
  }
  site.listing = listing_text(items);
  return site;
}

} // namespace peerlab::cdn
