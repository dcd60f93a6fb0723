// The paid flow through the local HTTP API of three live nodes in this
// process: a provider offers a file from its allowed folder, a downloader
// looks it up and downloads it to a path, pays through the ledger, the
// provider's verifier recognises the payment, and the balances move by the
// price (and the payer's fee).
#include "market_api_world.hpp"
#include "protocols/kad/kad.hpp"

using namespace peerlab;
using namespace peerlab::test;

namespace {

constexpr std::uint64_t price = 700;
constexpr std::uint64_t fee = 1; // the payer's default

struct market_world {
  api_node ledger{"api-flow-ledger", market_roles::ledger()};
  api_node provider{"api-flow-provider", market_roles::provider(ledger.id(), ledger.address()),
                    json{{"provide_dirs", json::array({"shared"})},
                         {"ledger", ledger.id()},
                         {"ledger_address", ledger.address()}}};
  api_node downloader{"api-flow-downloader",
                      market_roles::downloader(ledger.id(), ledger.address()),
                      json{{"ledger", ledger.id()}, {"ledger_address", ledger.address()}},
                      {provider.address()}};

  std::uint64_t balance(api_node& at, peer_id account) {
    auto r = at.get("/api/wallet/balance?account=" + std::to_string(account));
    REQUIRE(r.status == 200);
    return r.body["balance"].get<std::uint64_t>();
  }
};

json payment(api_node& n, const std::string& direction) {
  auto r = n.get("/api/wallet/payments");
  REQUIRE(r.status == 200);
  for (auto& p : r.body["payments"])
    if (p["direction"] == direction)
      return p;
  return json();
}

} // namespace

TEST_CASE(
  "market api: provide, look up, download to a path, pay, payment verified, balances moved") {
  market_world m;
  auto content = pattern_bytes(300 * 1024 + 17, 7);
  write_file(m.provider.shared() / "song.ogg", content);
  auto hash = to_hex(
    sha256::of(byte_view{reinterpret_cast<const std::uint8_t*>(content.data()), content.size()}));

  // Fund the downloader on the ledger node, by name.
  auto f = m.ledger.post("/api/ledger/fund",
                         {{"account", std::to_string(m.downloader.id())}, {"amount", 100000}});
  REQUIRE(f.status == 200);
  CHECK(f.body["account"] == std::to_string(m.downloader.id()));
  CHECK(f.body["amount"] == 100000);
  CHECK(f.body["tx"].get<std::string>().size() == 64);
  REQUIRE(api_node::eventually([&] { return m.balance(m.ledger, m.downloader.id()) == 100000; }));

  // Provide from the allowed folder (relative to it).
  auto p = m.provider.post("/api/file/provide-file",
                           {{"file_path", "song.ogg"}, {"price", price}, {"name", "Song"}});
  REQUIRE(p.status == 201);
  CHECK(p.body["hash"] == hash);
  CHECK(p.body["name"] == "Song");
  CHECK(p.body["size"] == content.size());
  CHECK(p.body["price"] == price);
  auto listed = m.provider.get("/api/file/get-provided-files");
  REQUIRE(listed.status == 200);
  REQUIRE(listed.body["files"].size() == 1);
  CHECK(listed.body["files"][0]["hash"] == hash);
  CHECK(listed.body["files"][0]["source"] == "api");
  CHECK(listed.body["files"][0]["sales"] == 0);

  // Look it up from the downloader: metadata from the provider it knows.
  REQUIRE(api_node::eventually(
    [&] { return m.downloader.get("/api/file/get-providers/" + hash).status == 200; }));
  auto l = m.downloader.get("/api/file/get-providers/" + hash);
  REQUIRE(l.body["providers"].size() == 1);
  auto offer = l.body["providers"][0];
  CHECK(offer["peer_id"] == std::to_string(m.provider.id()));
  CHECK(offer["address"] == m.provider.address());
  CHECK(offer["name"] == "Song");
  CHECK(offer["size"] == content.size());
  CHECK(offer["price"] == price);

  // Download to a path inside the download folder (a new sub-folder of it).
  fs::create_directories(m.downloader.root() / "data" / "downloads" / "music");
  auto d = m.downloader.post("/api/file/download-file",
                             {{"file_id", hash}, {"dest_path", "music/song.ogg"}});
  REQUIRE(d.status == 202);
  CHECK(d.body["status"] == "downloading");
  auto dest = m.downloader.root() / "data" / "downloads" / "music" / "song.ogg";
  CHECK(d.body["dest_path"] == dest.string());
  REQUIRE(api_node::eventually([&] {
    auto r = m.downloader.get("/api/file/get-downloaded-files");
    return r.status == 200 && r.body["downloads"].size() == 1 &&
           r.body["downloads"][0]["status"] == "done";
  }));
  CHECK(read_file(dest) == content);
  auto history = m.downloader.get("/api/file/get-downloaded-files").body["downloads"][0];
  CHECK(history["hash"] == hash);
  CHECK(history["dest_path"] == dest.string());
  CHECK(history["price"] == price);
  CHECK(history["size"] == content.size());
  CHECK(history["provider"] == std::to_string(m.provider.id()));

  // The payment is recognised by the provider (verified) and recorded by the payer.
  REQUIRE(api_node::eventually([&] {
    auto in = payment(m.provider, "in");
    return in.is_object() && in["status"] == "verified";
  }));
  auto in = payment(m.provider, "in");
  CHECK(in["amount"] == price);
  CHECK(in["hash"] == hash);
  CHECK(in["peer"] == std::to_string(m.downloader.id()));
  REQUIRE(api_node::eventually([&] {
    auto out = payment(m.downloader, "out");
    return out.is_object() && out["status"] == "verified";
  }));
  auto out = payment(m.downloader, "out");
  CHECK(out["ref"] == in["ref"]);
  CHECK(out["amount"] == price);

  // Balances moved by the price; the payer also paid the fee.
  REQUIRE(api_node::eventually([&] { return m.balance(m.provider, m.provider.id()) == price; }));
  auto own = m.downloader.get("/api/wallet/balance");
  REQUIRE(own.status == 200);
  CHECK(own.body["account"] == std::to_string(m.downloader.id()));
  CHECK(own.body["balance"] == 100000 - price - fee);
  CHECK(own.body["pending_out"] == 0);
  CHECK(own.body["tip"].get<std::uint64_t>() >= 1);
  // The provider's books count the sale as paid.
  REQUIRE(api_node::eventually([&] {
    auto r = m.provider.get("/api/file/get-provided-files");
    return r.status == 200 && r.body["files"][0]["paid_sales"] == 1;
  }));
  CHECK(m.provider.get("/api/file/get-provided-files").body["files"][0]["sales"] == 1);

  // Stop providing: the provider answers META_ERR, the lookup finds nobody.
  auto s = m.provider.post("/api/file/stop-providing/" + hash, json());
  CHECK(s.status == 400); // "null" is a body: refused, nothing stopped
  s = m.provider.call("POST", "/api/file/stop-providing/" + hash);
  REQUIRE(s.status == 200);
  CHECK(s.body == json{{"hash", hash}, {"stopped", true}});
  CHECK(m.provider.get("/api/file/get-provided-files").body["files"].empty());
  auto gone = m.downloader.get("/api/file/get-providers/" + hash);
  CHECK(gone.status == 404);
  CHECK(gone.body["status"] == 404);
  CHECK(m.provider.call("POST", "/api/file/stop-providing/" + hash).status == 404);
}

TEST_CASE("market api: a download refused by every provider's price changes nothing") {
  market_world m;
  write_file(m.provider.shared() / "a.bin", pattern_bytes(5000, 3));
  auto p = m.provider.post("/api/file/provide-file", {{"file_path", "a.bin"}, {"price", 500}});
  REQUIRE(p.status == 201);
  auto hash = p.body["hash"].get<std::string>();
  REQUIRE(api_node::eventually(
    [&] { return m.downloader.get("/api/file/get-providers/" + hash).status == 200; }));
  auto before = m.downloader.snapshot();
  auto d = m.downloader.post("/api/file/download-file",
                             {{"file_id", hash}, {"dest_path", "a.bin"}, {"max_price", 499}});
  CHECK(d.status == 409);
  CHECK(d.body["error"].get<std::string>().find("max_price") != std::string::npos);
  CHECK(m.downloader.snapshot() == before);
  // Naming the provider explicitly, at its price: it goes through.
  auto ok =
    m.downloader.post("/api/file/download-file", {{"file_id", hash},
                                                  {"dest_path", "a.bin"},
                                                  {"max_price", 500},
                                                  {"peer_id", std::to_string(m.provider.id())}});
  CHECK(ok.status == 202);
}

TEST_CASE("market api: files provided through the API are served again after a restart, unless "
          "they changed") {
  test::temp_dir dir("market-api-restart");
  auto shared = dir.path() / "shared";
  fs::create_directories(shared);
  write_file(shared / "keep.bin", pattern_bytes(4000, 1));
  write_file(shared / "edit.bin", pattern_bytes(4000, 2));
  json roles = json::array({"provider"});
  json api{{"provide_dirs", json::array({"shared"})}};
  std::string keep, edit;
  {
    api_node n("api-restart", roles, api, {}, &dir.path());
    auto a = n.post("/api/file/provide-file", {{"file_path", "keep.bin"}, {"price", 3}});
    auto b = n.post("/api/file/provide-file", {{"file_path", "edit.bin"}});
    REQUIRE(a.status == 201);
    REQUIRE(b.status == 201);
    keep = a.body["hash"];
    edit = b.body["hash"];
    REQUIRE(n.get("/api/file/get-provided-files").body["files"].size() == 2);
  }
  write_file(shared / "edit.bin", pattern_bytes(4000, 9)); // same size, new bytes and mtime
  api_node n("api-restart", roles, api, {}, &dir.path());
  auto files = n.get("/api/file/get-provided-files").body["files"];
  REQUIRE(files.size() == 1);
  CHECK(files[0]["hash"] == keep);
  CHECK(files[0]["price"] == 3);
  CHECK(files[0]["source"] == "api");
  bool dropped = false;
  for (auto& e : n.events())
    dropped |= e.kind == "api_provide_dropped" && *e.field("hash") == edit;
  CHECK(dropped);
}

TEST_CASE("market api: with kad, providers are announced in the DHT and found by nodes that never "
          "met them") {
  api_node boot("api-dht-boot", json::array({"kad"}));
  api_node provider("api-dht-provider", json::array({"kad", "provider"}),
                    json{{"provide_dirs", json::array({"shared"})}}, {boot.address()});
  api_node downloader("api-dht-downloader", json::array({"kad", "downloader"}), json::object(),
                      {boot.address()});
  auto joined = [](api_node& n) {
    for (auto& e : n.events())
      if (e.kind == "bootstrap_done" && e.command_id == 1)
        return e.value("success") == 1;
    return false;
  };
  for (auto* n : {&provider, &downloader}) {
    REQUIRE(
      n->command(ports::kad, text_command_of(1, "bootstrap",
                                             {std::to_string(boot.id()) + "@" + boot.address()})));
    REQUIRE(api_node::eventually([&] { return joined(*n); }));
  }
  auto content = pattern_bytes(70000, 11);
  write_file(provider.shared() / "paper.pdf", content);
  auto p = provider.post("/api/file/provide-file", {{"file_path", "paper.pdf"}});
  REQUIRE(p.status == 201);
  auto hash = p.body["hash"].get<std::string>();
  // The API announced it: a put of this key acknowledged by the DHT.
  REQUIRE(api_node::eventually([&] {
    for (auto& e : provider.events())
      if (e.kind == "put_done" && e.field("key") && *e.field("key") == hash)
        return true;
    return false;
  }));
  auto l = downloader.get("/api/file/get-providers/" + hash);
  REQUIRE(l.status == 200);
  REQUIRE(l.body["providers"].size() == 1);
  CHECK(l.body["providers"][0]["peer_id"] == std::to_string(provider.id()));
  CHECK(l.body["providers"][0]["name"] == "paper.pdf");
  CHECK(l.body["providers"][0]["price"] == 0);
  auto d =
    downloader.post("/api/file/download-file", {{"file_id", hash}, {"dest_path", "paper.pdf"}});
  REQUIRE(d.status == 202);
  REQUIRE(api_node::eventually([&] {
    auto r = downloader.get("/api/file/get-downloaded-files");
    return r.status == 200 && r.body["downloads"].size() == 1 &&
           r.body["downloads"][0]["status"] == "done";
  }));
  CHECK(read_file(downloader.root() / "data" / "downloads" / "paper.pdf") == content);
}
