// Malformed requests to the local HTTP API: bad JSON, unknown hashes,
// negative, fractional or huge prices and amounts, paths outside the allowed
// folders, unknown endpoints and methods, oversized bodies. Each gets a JSON
// error {"error", "status"} with a fitting HTTP status, and none changes a
// row, a served file or a file on disk of any node.
#include "market_api_world.hpp"

using namespace peerlab;
using namespace peerlab::test;

namespace {

struct world {
  api_node ledger{"api-err-ledger", market_roles::ledger()};
  api_node provider{"api-err-provider", market_roles::provider(ledger.id(), ledger.address()),
                    json{{"provide_dirs", json::array({"shared"})},
                         {"max_price", 1000000},
                         {"lookup_timeout", "500ms"}}};
  api_node downloader{"api-err-downloader",
                      market_roles::downloader(ledger.id(), ledger.address()),
                      json{{"lookup_timeout", "500ms"}, {"max_price", 1000000}},
                      {provider.address()}};
  std::string provided; // hash of a file the provider offers

  world() {
    write_file(provider.shared() / "offered.bin", pattern_bytes(2048, 5));
    write_file(provider.shared() / "spare.bin", pattern_bytes(1024, 6));
    write_file(provider.root() / "outside.txt", "secret");
    fs::create_directories(provider.shared() / "folder");
    fs::create_symlink(provider.root() / "outside.txt", provider.shared() / "link-out.txt");
    auto r = provider.post("/api/file/provide-file", {{"file_path", "offered.bin"}, {"price", 10}});
    REQUIRE(r.status == 201);
    provided = r.body["hash"];
    write_file(downloader.root() / "data" / "downloads" / "taken.bin", "already here");
    REQUIRE(api_node::eventually(
      [&] { return downloader.get("/api/file/get-providers/" + provided).status == 200; }));
    // The ledger's first block writes the fee sink's account row; on a busy
    // machine it can come after two equal snapshots, so wait for it.
    REQUIRE(api_node::eventually([&] {
      for (auto& e : ledger.events())
        if (e.kind == "ledger_block")
          return true;
      return false;
    }));
  }

  // The rows once the start-up work (the DHT announce of the provided file,
  // ledger blocks) has settled: two snapshots in a row that agree.
  std::map<std::string, std::string> settled() {
    std::map<std::string, std::string> last = all(), now;
    REQUIRE(api_node::eventually([&] {
      now = all();
      bool same = now == last;
      last = now;
      return same;
    }));
    return now;
  }

  std::map<std::string, std::string> all() {
    auto s = ledger.snapshot();
    for (auto* n : {&provider, &downloader})
      for (auto& [k, v] : n->snapshot())
        s[n->address() + k] = v;
    return s;
  }
};

// The rows and files that differ between two snapshots, "" when none.
std::string changes(const std::map<std::string, std::string>& before,
                    const std::map<std::string, std::string>& after) {
  std::string out;
  for (auto& [k, v] : after)
    if (auto it = before.find(k); it == before.end())
      out += "added " + k + " = " + v + "\n";
    else if (it->second != v)
      out += "changed " + k + ": " + it->second + " -> " + v + "\n";
  for (auto& [k, v] : before)
    if (!after.count(k))
      out += "removed " + k + "\n";
  return out;
}

std::string unknown_hash() {
  return to_hex(sha256::of(byte_view{reinterpret_cast<const std::uint8_t*>("nobody"), 6}));
}

} // namespace

TEST_CASE("market api: malformed provide requests get clear errors and change nothing") {
  world w;
  auto before = w.settled();
  auto& p = w.provider;
  const std::string url = "/api/file/provide-file";
  expect_error(p.call("POST", url, "{\"file_path\": "), 400, "not valid JSON");
  expect_error(p.call("POST", url, ""), 400, "not valid JSON");
  expect_error(p.call("POST", url, "[1, 2]"), 400, "must be a JSON object");
  // Deep nesting is refused on the text, before a value is built.
  expect_error(p.call("POST", url, std::string(60000, '[')), 400, "deeper than 32 levels");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"colour", "red"}}), 400,
               "unknown field \"colour\"");
  expect_error(p.post(url, json::object()), 400, "file_path");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"path", "spare.bin"}}), 400, "file_path");
  expect_error(p.post(url, {{"file_path", 42}}), 400, "file_path must be a string");
  // Prices: non-negative integers up to max_price only.
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"price", -1}}), 400,
               "price must not be negative");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"price", -0.5}}), 400,
               "price must not be negative");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"price", 1.5}}), 400, "whole number");
  expect_error(p.call("POST", url, R"({"file_path": "spare.bin", "price": 1e30})"), 400,
               "whole number");
  expect_error(p.call("POST", url, R"({"file_path": "spare.bin", "price": 18446744073709551615})"),
               400, "price must be at most 1000000");
  expect_error(
    p.call("POST", url, R"({"file_path": "spare.bin", "price": 99999999999999999999999})"), 400,
    "whole number");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"price", 1000001}}), 400,
               "price must be at most 1000000");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"price", "10"}}), 400,
               "price must be a non-negative integer");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"price", true}}), 400,
               "price must be a non-negative integer");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"price", nullptr}}), 400,
               "price must be a non-negative integer");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"name", ""}}), 400,
               "name must not be empty");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"name", std::string(300, 'n')}}), 400,
               "name is longer");
  expect_error(p.post(url, {{"file_path", "spare.bin"}, {"name", "a\nb"}}), 400,
               "control character");
  // Paths: inside the allowed folder, existing, regular files.
  expect_error(p.post(url, {{"file_path", "../outside.txt"}}), 403, "outside the folders");
  expect_error(p.post(url, {{"file_path", (p.root() / "outside.txt").string()}}), 403,
               "outside the folders");
  expect_error(p.post(url, {{"file_path", "/etc/passwd"}}), 403, "outside the folders");
  expect_error(p.post(url, {{"file_path", "folder/../../outside.txt"}}), 403,
               "outside the folders");
  expect_error(p.post(url, {{"file_path", "link-out.txt"}}), 403, "leads outside");
  expect_error(p.post(url, {{"file_path", "missing.bin"}}), 404, "missing.bin");
  expect_error(p.post(url, {{"file_path", "folder"}}), 400, "not a regular file");
  expect_error(p.post(url, {{"file_path", std::string(5000, 'x')}}), 400, "longer than 4096");
  // A node without provide_dirs, or without a provider role, provides nothing.
  expect_error(w.downloader.post(url, {{"file_path", "x.bin"}}), 409, "no provider role");
  CHECK(changes(before, w.all()) == "");
}

TEST_CASE("market api: malformed stop, lookup, download, wallet and fund requests get clear errors "
          "and change nothing") {
  world w;
  auto before = w.settled();
  auto& p = w.provider;
  auto& d = w.downloader;
  // Stop providing.
  expect_error(p.call("POST", "/api/file/stop-providing/xyz"), 400, "64 hex digits");
  expect_error(p.call("POST", "/api/file/stop-providing/" + unknown_hash()), 404,
               "does not provide");
  expect_error(p.call("GET", "/api/file/stop-providing/" + w.provided), 405, "not allowed");
  expect_error(p.call("POST", "/api/file/stop-providing/" + w.provided, "{}"), 400,
               "takes no body");
  // Lookups.
  expect_error(d.get("/api/file/get-providers/" + w.provided.substr(1)), 400, "64 hex digits");
  expect_error(d.get("/api/file/get-providers/" + unknown_hash()), 404, "no provider of");
  expect_error(d.get("/api/file/get-providers/"), 404, "no endpoint");
  expect_error(d.get("/api/file/get-providers/" + w.provided + "/x"), 404, "no endpoint");
  // Downloads.
  const std::string dl = "/api/file/download-file";
  expect_error(d.call("POST", dl, "{oops"), 400, "not valid JSON");
  expect_error(d.post(dl, {{"dest_path", "x.bin"}}), 400, "file_id");
  expect_error(d.post(dl, {{"file_id", "abc"}, {"dest_path", "x.bin"}}), 400, "64 hex digits");
  expect_error(d.post(dl, {{"file_id", w.provided}}), 400, "dest_path");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "../escape.bin"}}), 403,
               "outside the download folder");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "/tmp/escape.bin"}}), 403,
               "outside the download folder");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "taken.bin"}}), 409,
               "already exists");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "no/such/folder/x.bin"}}), 400,
               "folder does not exist");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "sub/.."}}), 400,
               "does not name a file");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", ""}}), 400,
               "dest_path must not be empty");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "x.bin"}, {"max_price", -5}}),
               400, "max_price must not be negative");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "x.bin"}, {"max_price", 1e20}}),
               400, "max_price");
  expect_error(
    d.post(dl, {{"file_id", w.provided}, {"dest_path", "x.bin"}, {"max_price", 2000000}}), 400,
    "max_price must be at most 1000000");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "x.bin"}, {"peer_id", 12}}), 400,
               "peer_id must be a decimal peer id");
  expect_error(
    d.post(dl, {{"file_id", w.provided}, {"dest_path", "x.bin"}, {"peer_id", json::array()}}), 400,
    "peer_id must list");
  expect_error(d.post(dl, {{"file_id", unknown_hash()}, {"dest_path", "x.bin"}}), 404,
               "no provider of");
  expect_error(d.post(dl, {{"file_id", w.provided}, {"dest_path", "x.bin"}, {"max_price", 9}}), 409,
               "asks more than max_price");
  expect_error(p.post(dl, {{"file_id", w.provided}, {"dest_path", "x.bin"}}), 409,
               "no downloader role");
  // Wallet.
  expect_error(p.get("/api/wallet/balance"), 409, "no ledger configured");
  expect_error(d.get("/api/wallet/balance?account=abc"), 400, "account must be a decimal peer id");
  expect_error(d.call("DELETE", "/api/wallet/payments"), 405, "DELETE is not allowed");
  // Fund (ledger nodes only).
  auto& l = w.ledger;
  const std::string fund = "/api/ledger/fund";
  expect_error(p.post(fund, {{"account", "12"}, {"amount", 5}}), 404, "no ledger role");
  expect_error(l.post(fund, {{"account", "12"}, {"amount", 0}}), 400, "amount must be positive");
  expect_error(l.post(fund, {{"account", "12"}, {"amount", -3}}), 400,
               "amount must not be negative");
  expect_error(l.post(fund, {{"account", "12"}, {"amount", 2.5}}), 400, "whole number");
  expect_error(l.call("POST", fund, R"({"account": "12", "amount": 18446744073709551615})"), 400,
               "amount must be at most");
  expect_error(l.post(fund, {{"account", "12"}}), 400, "missing \"amount\"");
  expect_error(l.post(fund, {{"account", "12x"}, {"amount", 1}}), 400,
               "account must be a decimal peer id");
  // Names prove nothing: an account is named by its peer id only.
  expect_error(l.post(fund, {{"name", "x"}, {"amount", 1}}), 400, "unknown field \"name\"");
  expect_error(l.post(fund, {{"amount", 1}}), 400, "\"account\" (the node's decimal peer id)");
  // Unknown endpoints and methods.
  expect_error(p.get("/api/nope"), 404, "no endpoint GET /api/nope");
  expect_error(p.get("/"), 404, "no endpoint");
  expect_error(p.call("GET", "/api/file/provide-file"), 405,
               "GET is not allowed on /api/file/provide-file");
  expect_error(p.call("PUT", "/api/file/get-provided-files", "{}"), 405, "allowed: GET");
  CHECK(changes(before, w.all()) == "");
}

TEST_CASE("market api: oversized, malformed and header-heavy HTTP requests are refused and change "
          "nothing") {
  world w;
  auto before = w.settled();
  auto addr = w.provider.api_address();
  // A declared body over max_body (64 KiB): 413 before the body is read.
  auto big = raw_exchange(
    addr,
    "POST /api/file/provide-file HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    "Content-Length: 10000000\r\n\r\n{\"file_path\":");
  CHECK(raw_status(big) == 413);
  CHECK(big.find("\"status\":413") != std::string::npos);
  // The same without a length (chunked): 413 once the limit is passed.
  std::string chunk(70000, ' ');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  auto chunked =
    raw_exchange(addr, "POST /api/file/provide-file HTTP/1.1\r\nHost: "
                       "localhost\r\nAuthorization: Bearer " +
                         w.provider.token() + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         std::string(size) + chunk + "\r\n0\r\n\r\n");
  CHECK(raw_status(chunked) == 413);
  // A header over 8 KiB: 431.
  auto fat = raw_exchange(addr, "GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Fat: " +
                                  std::string(9000, 'a') + "\r\n\r\n");
  CHECK(raw_status(fat) == 431);
  // Not HTTP: 400.
  auto junk = raw_exchange(addr, "HELLO THERE\r\n\r\n");
  CHECK(raw_status(junk) == 400);
  CHECK(junk.find("malformed HTTP request") != std::string::npos);
  // And the server still answers.
  auto h = w.provider.get("/api/health");
  REQUIRE(h.status == 200);
  CHECK(h.body["peer_id"] == std::to_string(w.provider.id()));
  CHECK(changes(before, w.all()) == "");
}
