// The CDN demo site over HTTP (net/cdn_site.hpp): the listing as the origin
// role builds it, resources whole and by range with the listed SHA-224, the
// bundle with the types browsers check and nothing outside its folder, the
// page, and the node config's "cdn_site" errors.
#include "net/cdn_site.hpp"
#include "net/node_config.hpp"
#include "protocols/cdn/cdn.hpp"
#include "temp_dir.hpp"
#include "ws_client.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
using namespace peerlab::test;
namespace fs = std::filesystem;

namespace {

cdn::origin_config site_config() {
  cdn::origin_config oc;
  oc.resources = {{"/app.js", 100'000}, {"/img/logo.png", 5000}, {"/empty.txt", 0}};
  return oc;
}

void write(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
}

struct site_world {
  site_world() {
    fs::create_directories(dir.path() / "bundle");
    write(dir.path() / "bundle" / "peerlab_role.wasm", std::string("\0asm\1\0\0\0", 8));
    write(dir.path() / "bundle" / "host.js", "console.log('host');\n");
    write(dir.path() / "secret.txt", "outside the bundle");
    fs::create_symlink(dir.path() / "secret.txt", dir.path() / "bundle" / "link.js");
    net::cdn_site_config c;
    c.bundle = dir.path() / "bundle";
    site = std::make_unique<net::cdn_site>(c, site_config(), nullptr, [](const std::string&) {});
    site->start();
  }
  http_answer get(const std::string& target, const std::map<std::string, std::string>& h = {}) {
    return http_get(site->address(), target, h);
  }
  temp_dir dir{"cdn-site"};
  std::unique_ptr<net::cdn_site> site;
};

std::string bytes_text(const bytes& b) { return std::string(b.begin(), b.end()); }

} // namespace

TEST_CASE("cdn site: /index is the origin's listing and every resource matches its SHA-224") {
  site_world w;
  auto index = w.get("/index");
  REQUIRE(index.status == 200);
  CHECK(index.headers["content-type"] == "text/plain; charset=utf-8");
  CHECK(index.body == cdn::build_site(site_config().resources).listing);
  std::string err;
  auto listed = cdn::parse_listing(index.body, err);
  REQUIRE(listed);
  REQUIRE(listed->size() == 3);
  for (auto& l : *listed) {
    auto r = w.get(l.url);
    REQUIRE(r.status == 200);
    CHECK(r.body.size() == l.size);
    CHECK(cdn::sha224_of(byte_view(reinterpret_cast<const std::uint8_t*>(r.body.data()),
                                   r.body.size())) == l.sha);
    CHECK(r.body == bytes_text(cdn::synthetic_resource(l.url, l.size)));
    CHECK(r.headers["accept-ranges"] == "bytes");
  }
}

TEST_CASE("cdn site: a Range request answers 206 with Content-Range, 416 past the end") {
  site_world w;
  auto whole = bytes_text(cdn::synthetic_resource("/app.js", 100'000));
  auto mid = w.get("/app.js", {{"Range", "bytes=40000-40999"}});
  CHECK(mid.status == 206);
  CHECK(mid.headers["content-range"] == "bytes 40000-40999/100000");
  CHECK(mid.body == whole.substr(40000, 1000));
  auto tail = w.get("/app.js", {{"Range", "bytes=99000-"}}); // resume at an offset
  CHECK(tail.status == 206);
  CHECK(tail.headers["content-range"] == "bytes 99000-99999/100000");
  CHECK(tail.body == whole.substr(99000));
  auto past = w.get("/app.js", {{"Range", "bytes=100000-"}});
  CHECK(past.status == 416);
  CHECK(past.headers["content-range"] == "bytes */100000");
  CHECK(past.body.empty());
  auto multi = w.get("/app.js", {{"Range", "bytes=0-1,5-6"}}); // ignored: the whole resource
  CHECK(multi.status == 200);
  CHECK(multi.body == whole);
  CHECK(w.get("/missing.js").status == 404);
}

TEST_CASE("cdn site: bundle files with the types browsers check, nothing outside the folder") {
  site_world w;
  auto wasm = w.get("/bundle/peerlab_role.wasm");
  CHECK(wasm.status == 200);
  CHECK(wasm.headers["content-type"] == "application/wasm");
  CHECK(wasm.body == std::string("\0asm\1\0\0\0", 8));
  auto js = w.get("/bundle/host.js");
  CHECK(js.status == 200);
  CHECK(js.headers["content-type"] == "text/javascript");
  CHECK(js.body == "console.log('host');\n");
  for (auto target :
       {"/bundle/../secret.txt", "/bundle/%2e%2e/secret.txt", "/bundle/..%2fsecret.txt",
        "/bundle/%2e%2e", "/bundle/.hidden", "/bundle/link.js", "/bundle/nope.js"}) {
    auto r = w.get(target);
    INFO(target);
    CHECK(r.status >= 400);
    CHECK(r.body.find("outside the bundle") == std::string::npos);
  }
  CHECK(w.get("/bundle/link.js").status == 403); // a link is refused, not followed
  CHECK(w.get("/bundle/nope.js").status == 404);
}

TEST_CASE("cdn site: the page lists every resource with its SHA-224 and loads the bundle") {
  site_world w;
  auto page = w.get("/");
  REQUIRE(page.status == 200);
  CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
  for (auto& r : cdn::build_site(site_config().resources).resources) {
    CHECK_THAT(page.body, Catch::Contains("href=\"" + r.entry.url + "\" data-sha224=\"" +
                                          cdn::hex(r.entry.sha) + "\""));
  }
  CHECK_THAT(page.body, Catch::Contains("<script src=\"/bundle/peerlab_role.js\"></script>"));
  CHECK_THAT(page.body, Catch::Contains("\"signal\":\"\"")); // no signal role here
  CHECK(w.get("/signal").status == 404);
}

TEST_CASE("cdn site config: errors name the key") {
  temp_dir d("cdn-site-config");
  auto error_of = [&](const std::string& text) {
    try {
      net::parse_node_config_text(text, d.path());
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  const std::string roles =
    R"("roles": [{"role": "cdn_signal"}, {"role": "cdn_origin", "resources": [{"url": "/a.js", "size": 10}]}])";
  auto node = [&](const std::string& site, const std::string& r) {
    return R"({"name": "n", "data_dir": "d", )" + r + R"(, "cdn_site": )" + site + "}";
  };
  CHECK(error_of(node(R"({"listen": "127.0.0.1:0", "bundle": "b"})", roles)) == "(accepted)");
  CHECK_THAT(error_of(node(R"({"listen": "0.0.0.0:80"})", roles)),
             Catch::Contains("cdn_site.listen") && Catch::Contains("allow_remote"));
  CHECK(error_of(node(R"({"listen": "0.0.0.0:80", "allow_remote": true})", roles)) == "(accepted)");
  CHECK_THAT(error_of(node(R"({"bogus": 1})", roles)), Catch::Contains("cdn_site.bogus"));
  CHECK_THAT(error_of(node(R"({"max_sockets": 0})", roles)),
             Catch::Contains("cdn_site.max_sockets"));
  CHECK_THAT(error_of(node(R"({"idle_timeout": "2h"})", roles)),
             Catch::Contains("cdn_site.idle_timeout"));
  CHECK_THAT(error_of(node(R"({"scripts": ["../x.js"]})", roles)),
             Catch::Contains("cdn_site.scripts[0]"));
  CHECK_THAT(error_of(node("{}", R"("roles": [{"role": "cdn_signal"}])")),
             Catch::Contains("cdn_site") && Catch::Contains("cdn_origin"));
  CHECK_THAT(
    error_of(node(
      "{}", R"("roles": [{"role": "cdn_origin", "resources": [{"url": "/signal", "size": 1}]}])")),
    Catch::Contains("/signal"));
}
