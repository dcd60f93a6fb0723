// The CDN demo site's page: the listing as links with their SHA-224 (what
// the seed wanted included with every link), the site's data for the client
// bundle as JSON, and the bundle's scripts.
#include "net/cdn_site.hpp"

#include <nlohmann/json.hpp>

namespace peerlab::net {

namespace {

std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

} // namespace

std::string cdn_site_page(const cdn::built_site& site, const std::string& listing_url,
                          const std::vector<std::string>& scripts, bool has_signal) {
  nlohmann::json data{{"listing", listing_url},
                      {"signal", has_signal ? cdn_site_paths::signal : ""},
                      {"bundle", cdn_site_paths::bundle}};
  auto& list = data["resources"] = nlohmann::json::array();
  std::string rows;
  for (auto& r : site.resources) {
    auto sha = cdn::hex(r.entry.sha);
    list.push_back({{"url", r.entry.url}, {"size", r.entry.size}, {"sha224", sha}});
    auto url = escape_html(r.entry.url);
    rows += "<tr><td><a href=\"" + url + "\" data-sha224=\"" + sha + "\" data-size=\"" +
            std::to_string(r.entry.size) + "\">" + url + "</a></td><td>" +
            std::to_string(r.entry.size) + "</td><td><code>" + sha + "</code></td></tr>\n";
  }
  // In a <script> element "</" would end it early: JSON allows "<\/".
  auto json = data.dump(-1, ' ', true);
  for (std::size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 3))
    json.replace(at, 2, "<\\/");
  std::string html = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<title>peerlab CDN</title>\n</head>\n<body>\n<h1>peerlab CDN</h1>\n"
                     "<p>This page's resources load from other visitors first and from this "
                     "server when no peer has them; each is used only if its SHA-224 matches "
                     "the one listed here (also at <a href=\"" +
                     escape_html(listing_url) + "\">" + escape_html(listing_url) +
                     "</a>).</p>\n<table id=\"resources\">\n"
                     "<tr><th>resource</th><th>bytes</th><th>SHA-224</th></tr>\n" +
                     rows + "</table>\n<pre id=\"log\"></pre>\n" +
                     "<script type=\"application/json\" id=\"peerlab-cdn\">" + json + "</script>\n";
  for (auto& s : scripts)
    html +=
      "<script src=\"" + std::string(cdn_site_paths::bundle) + escape_html(s) + "\"></script>\n";
  return html + "</body>\n</html>\n";
}

} // namespace peerlab::net
