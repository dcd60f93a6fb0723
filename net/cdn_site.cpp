#include "net/cdn_site.hpp"

#include "net/byte_range.hpp"
#include "net/folder_read.hpp"
#include "net/http_route.hpp"
#include "protocols/cdn/cdn.hpp"

namespace peerlab::net {

namespace {

http_server_answer text(unsigned status, std::string body, std::string type) {
  http_server_answer a;
  a.status = status;
  a.body = std::move(body);
  a.content_type = std::move(type);
  return a;
}

// The types a browser checks: it compiles .wasm streaming only when served
// as application/wasm, and runs a <script> only with a JavaScript type.
std::string content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".wasm"))
    return "application/wasm";
  if (ends(".js") || ends(".mjs"))
    return "text/javascript";
  if (ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".css"))
    return "text/css";
  if (ends(".json") || ends(".map"))
    return "application/json";
  return "application/octet-stream";
}

} // namespace

std::string cdn_site_url_conflict(const std::string& url) {
  std::string_view b = cdn_site_paths::bundle;
  if (url == "/" || url == cdn_site_paths::signal || url.starts_with(b) ||
      url == b.substr(0, b.size() - 1))
    return "the URL " + url + " is one of the site's own routes (/, /signal, /bundle/...)";
  return {};
}

cdn_site::cdn_site(cdn_site_config cfg, const cdn::origin_config& origin, local_peer_host* signal,
                   log_fn log)
    : cfg_(std::move(cfg)), listing_url_(origin.page), site_(cdn::build_site(origin.resources)) {
  for (std::size_t i = 0; i < site_.resources.size(); ++i)
    by_url_[site_.resources[i].entry.url] = i;
  std::vector<http_server::route> routes;
  routes.push_back({"GET", "/", [this](http_server_request, http_server::respond_fn respond) {
                      respond(page());
                    }});
  routes.push_back(
    {"GET", "/bundle/{}", [this](http_server_request r, http_server::respond_fn respond) {
       respond(bundle_file(r.params.at(0)));
     }});
  if (signal) {
    cfg_.ws.port = ports::cdn_signal;
    cfg_.ws.goodbye = R"({"type":"leave"})"; // the role dissolves the client's pairs
    cfg_.ws.message_max = cdn_site_limits::message_max;
    bridge_ = std::make_unique<ws_bridge>(*signal, cfg_.ws, log);
    routes.push_back({"GET", cdn_site_paths::signal, nullptr, 0, bridge_->upgrade()});
  }
  routes.push_back({"GET", "*", [this](http_server_request r, http_server::respond_fn respond) {
                      respond(resource(r));
                    }});
  http_server_options o;
  o.listen = cfg_.listen;
  o.max_connections = cfg_.max_connections;
  o.server_name = "peerlab-cdn";
  http_ = std::make_unique<http_server>(o, std::move(routes), log);
  log_ = std::move(log);
}

cdn_site::~cdn_site() { stop(); }

void cdn_site::start() {
  http_->start();
  // Files are read per request (a wasm build may come later): only said here.
  std::error_code ec;
  if (!cfg_.bundle.empty() && !std::filesystem::is_directory(cfg_.bundle, ec) && log_)
    log_("cdn_site.bundle: no folder at " + cfg_.bundle.string() +
         ": /bundle/ answers 404 until it exists");
}

void cdn_site::stop() {
  if (bridge_)
    bridge_->stop(); // on the server's io thread: before it stops
  http_->stop();
}

const std::string& cdn_site::address() const { return http_->address(); }

std::map<std::string, double> cdn_site::counters() const {
  return bridge_ ? bridge_->counters() : std::map<std::string, double>{};
}

http_server_answer cdn_site::page() const {
  return text(200, cdn_site_page(site_, listing_url_, cfg_.scripts, bridge_ != nullptr),
              "text/html; charset=utf-8");
}

http_server_answer cdn_site::bundle_file(const std::string& name) const {
  if (cfg_.bundle.empty())
    return json_error(404, "this site serves no bundle (cdn_site.bundle is not set)");
  auto f = read_file_in(cfg_.bundle, name, cdn_site_limits::bundle_file_max);
  if (f.status != 200)
    return json_error(f.status, "/bundle/" + name + ": " + f.error);
  return text(200, std::move(f.data), content_type_of(name));
}

http_server_answer cdn_site::resource(const http_server_request& r) const {
  if (r.path == listing_url_)
    return text(200, site_.listing, "text/plain; charset=utf-8");
  auto it = by_url_.find(r.path);
  if (it == by_url_.end()) { // a browser may escape what the listing wrote plainly
    std::string err;
    if (auto decoded = percent_decode(r.path, err))
      it = by_url_.find(*decoded);
  }
  if (it == by_url_.end())
    return json_error(404, "no resource " + r.path.substr(0, 200));
  const auto& res = site_.resources[it->second];
  const auto size = res.data.size();
  auto h = r.headers.find("range");
  auto range = h == r.headers.end() ? byte_range{} : parse_byte_range(h->second, size);
  http_server_answer a;
  a.content_type = "application/octet-stream";
  a.headers.push_back({"Accept-Ranges", "bytes"});
  a.headers.push_back({"ETag", "\"" + cdn::hex(res.entry.sha) + "\""});
  switch (range.kind) {
  case byte_range::whole:
    a.body.assign(res.data.begin(), res.data.end());
    break;
  case byte_range::part:
    a.status = 206;
    a.headers.push_back({"Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                            std::to_string(range.last) + "/" +
                                            std::to_string(size)});
    a.body.assign(res.data.begin() + static_cast<std::ptrdiff_t>(range.first),
                  res.data.begin() + static_cast<std::ptrdiff_t>(range.last + 1));
    break;
  case byte_range::unsatisfiable:
    a.status = 416;
    a.headers.push_back({"Content-Range", "bytes */" + std::to_string(size)});
    break;
  }
  return a;
}

} // namespace peerlab::net
