// The account role on the lockstep kit: files served by path (refused when
// their stamp changed), unprovide, listings and their bound, balances at the
// ledger (answer, timeout, forged replies) and restoring ProvidedPaths after
// a restart.
#include "protocols/ledger/codec.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/account.hpp"
#include "protocols/market/tables.hpp"
#include "tests/protocols/market/market_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace peerlab;
using namespace peerlab::market;

// A cell of a list answer's row, by column name.
inline const peerlab::cell& col(const peerlab::event& e, std::size_t i, std::string_view name) {
  REQUIRE(e.rows_schema);
  return e.rows.at(i).cells.at(e.rows_schema->column_index(name));
}
inline std::string text_of(const peerlab::event& e, std::size_t i, std::string_view name) {
  return std::get<std::string>(col(e, i, name));
}
inline std::int64_t int_of(const peerlab::event& e, std::size_t i, std::string_view name) {
  return std::get<std::int64_t>(col(e, i, name));
}

namespace {

constexpr peer_id ledger_node = 1, owner = 10, stranger = 50;

// Records what reaches the ledger's port without answering.
class silent_ledger final : public role {
public:
  port_t port() const override { return ports::ledger; }
  const char* name() const override { return "silent_ledger"; }
  void frame(context&, peer_id from, byte_view data, effects&) override {
    auto d = ledger::decode(data);
    if (auto* q = d.ok() ? std::get_if<ledger::balance_req>(&d.msg) : nullptr)
      asks.push_back({from, *q});
  }
  std::vector<std::pair<peer_id, ledger::balance_req>> asks;
};

struct world {
  mkt::network net{5, 10 * us_per_ms};
  account_config cfg;
  std::uint64_t next_id = 100;

  explicit world(account_config c = {}) : cfg(std::move(c)) { net.add(owner, {make_account(cfg)}); }
  mkt::node& self() { return net.at(owner); }
  // Sends a text command to the account; returns its id.
  std::uint64_t send(const std::string& verb, std::vector<std::string> args = {}) {
    auto id = ++next_id;
    net.command(owner, ports::api, text_command_of(id, verb, std::move(args)));
    net.run_for(1 * us_per_ms);
    return id;
  }
  std::optional<event> reply(std::uint64_t id) {
    for (auto& s : net.events)
      if (s.e.command_id == id)
        return s.e;
    return std::nullopt;
  }
  std::vector<event> of_kind(const std::string& kind) { return net.of_kind(kind); }
  std::uint64_t provide(const std::string& path, const digest& h, const file_stamp& st,
                        std::uint64_t price = 7) {
    return send("provide", {path, "f.bin", std::to_string(price), to_hex(h),
                            std::to_string(st.size), std::to_string(st.mtime_ns)});
  }
  bool has_row(const digest& h) {
    return self().kv.get(tables::provided_paths(), {cell_digest(h)}).has_value();
  }
};

std::uint64_t code_of(const event& e) { return static_cast<std::uint64_t>(e.value("code")); }

} // namespace

TEST_CASE("account: provide serves a hashed file at a path and refuses one whose stamp changed",
          "[market][account]") {
  world w;
  w.net.start_all();
  auto data = mkt::make_file(3, 5000);
  auto h = sha256::of(data);
  w.self().content.put_path("/srv/a.bin", data, 1'000);

  // Hashed when the mtime was 999: the file changed since.
  auto stale = w.provide("/srv/a.bin", h, {5000, 999});
  auto r = w.reply(stale);
  REQUIRE(r);
  CHECK(r->kind == "command_failed");
  CHECK(code_of(*r) == 409);
  CHECK(*r->field("reason") == "/srv/a.bin changed while it was hashed; provide it again");
  CHECK_FALSE(w.has_row(h));
  CHECK(w.self().content.files.empty());

  auto ok = w.provide("/srv/a.bin", h, {5000, 1'000}, 42);
  r = w.reply(ok);
  REQUIRE(r);
  REQUIRE(r->kind == "api_provided");
  CHECK(*r->field("hash") == to_hex(h));
  CHECK(*r->field("path") == "/srv/a.bin");
  CHECK(r->value("size") == 5000);
  CHECK(r->value("price") == 42);
  CHECK(w.has_row(h));
  CHECK(w.self().content.stat(h).has_value());

  // Listed as provided through the API, with its path and no sales yet.
  auto lid = w.send("provided");
  r = w.reply(lid);
  REQUIRE(r);
  REQUIRE(r->kind == "api_list");
  CHECK(*r->field("table") == "provided");
  REQUIRE(r->rows.size() == 1);
  CHECK(text_of(*r, 0, "source") == "api");
  CHECK(text_of(*r, 0, "path") == "/srv/a.bin");
  CHECK(int_of(*r, 0, "price") == 42);
  CHECK(int_of(*r, 0, "sales") == 0);

  // Bad text is refused before the role sees it; a payer's verb by the role.
  for (auto& [verb, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
         {"provide", {"relative/a.bin", "n", "1", to_hex(h), "1", "1"}},
         {"provide", {"/a", "n", "1", "nothex", "1", "1"}},
         {"unprovide", {}},
         {"balance", {"x"}},
         {"payments", {"extra"}},
         {"wallet", {}},
         {"dance", {}}}) {
    auto id = w.send(verb, args);
    auto f = w.reply(id);
    REQUIRE(f);
    CHECK(f->kind == "command_failed");
    CHECK(code_of(*f) == 400);
  }
}

TEST_CASE("account: unprovide forgets a served file and answers 404 for an unknown hash",
          "[market][account]") {
  world w;
  w.net.start_all();
  auto data = mkt::make_file(4, 300);
  auto h = sha256::of(data);
  w.self().content.put_path("/srv/b.bin", data, 5);
  REQUIRE(w.reply(w.provide("/srv/b.bin", h, {300, 5}))->kind == "api_provided");

  digest unknown{};
  unknown[0] = 0x42;
  auto r = w.reply(w.send("unprovide", {to_hex(unknown)}));
  REQUIRE(r);
  CHECK(r->kind == "command_failed");
  CHECK(code_of(*r) == 404);
  CHECK(*r->field("verb") == "unprovide");
  CHECK(w.has_row(h));

  r = w.reply(w.send("unprovide", {to_hex(h)}));
  REQUIRE(r);
  CHECK(r->kind == "api_unprovided");
  CHECK(*r->field("hash") == to_hex(h));
  CHECK_FALSE(w.has_row(h));
  CHECK_FALSE(w.self().content.stat(h).has_value());
  // Gone now: a second unprovide is 404 too.
  CHECK(code_of(*w.reply(w.send("unprovide", {to_hex(h)}))) == 404);
}

TEST_CASE("account: listings stop at max_list rows and report the total", "[market][account]") {
  account_config c;
  c.max_list = 2;
  world w(c);
  w.net.start_all();
  for (int i = 0; i < 5; ++i)
    w.self().content.add_file("c" + std::to_string(i), mkt::make_file(10 + i, 100), 1);
  for (std::uint8_t i = 0; i < 3; ++i) {
    market::row d;
    d.set("name", "d" + std::to_string(i));
    d.set("size", static_cast<std::uint64_t>(100 + i));
    digest h{};
    h[0] = i;
    save(w.self().kv, tables::download_files(), {cell_digest(h)}, d);
  }

  auto r = w.reply(w.send("provided"));
  REQUIRE(r);
  CHECK(r->value("count") == 2);
  CHECK(r->value("total") == 5);
  REQUIRE(r->rows.size() == 2);
  CHECK(text_of(*r, 0, "source") == "config");
  CHECK(text_of(*r, 0, "path") == "");

  r = w.reply(w.send("downloads"));
  REQUIRE(r);
  CHECK(*r->field("table") == "downloads");
  CHECK(r->value("count") == 2);
  CHECK(r->value("total") == 3);
  REQUIRE(r->rows.size() == 2);
  CHECK(text_of(*r, 0, "name") == "d0");
  CHECK(int_of(*r, 1, "size") == 101);

  r = w.reply(w.send("payments"));
  REQUIRE(r);
  CHECK(r->value("count") == 0);
  CHECK(r->value("total") == 0);
  CHECK(r->rows.empty());
  CHECK(r->field("json") == nullptr); // rows are typed, never JSON text
}

TEST_CASE("account: balance counts only the ledger's reply and times out with 504",
          "[market][account]") {
  SECTION("a real ledger answers") {
    account_config c;
    c.ledger = ledger_node;
    world w(c);
    ledger::config lc;
    lc.block_interval = 1 * us_per_s;
    lc.confirmations = 1;
    w.net.add(ledger_node, {ledger::make_ledger(lc)});
    w.net.start_all();
    w.net.command(ledger_node, ports::ledger,
                  text_command_of(1, "fund", {std::to_string(owner), "5000"}));
    w.net.run_for(3 * us_per_s);
    auto id = w.send("balance");
    w.net.run_for(1 * us_per_s);
    auto r = w.reply(id);
    REQUIRE(r);
    REQUIRE(r->kind == "api_balance");
    CHECK(*r->field("account") == std::to_string(owner));
    CHECK(r->value("balance") == 5000);
    // Another account's balance, by id.
    id = w.send("balance", {"77"});
    w.net.run_for(1 * us_per_s);
    r = w.reply(id);
    REQUIRE(r);
    CHECK(*r->field("account") == "77");
    CHECK(r->value("balance") == 0);
  }

  SECTION("a forged reply is rejected; no reply times out") {
    account_config c;
    c.ledger = ledger_node;
    c.ledger_timeout = 2 * us_per_s;
    world w(c);
    auto quiet = std::make_shared<silent_ledger>();
    w.net.add(ledger_node, {quiet});
    w.net.add(stranger, {});
    w.net.start_all();
    auto id = w.send("balance");
    w.net.run_for(100 * us_per_ms);
    REQUIRE(quiet->asks.size() == 1);
    auto ask = quiet->asks[0].second;
    CHECK(quiet->asks[0].first == owner);
    CHECK(ask.reply_port == ports::api);
    CHECK(ask.account == owner);

    // The right request id and port, from a node that is not the ledger.
    ledger::balance_reply forged{ports::api, ask.req_id, owner, 1'000'000, 0, 9};
    w.net.deliver_now(stranger, owner, ledger::encode(forged));
    w.net.run_for(100 * us_per_ms);
    CHECK(w.net.counter("frames_rejected") == 1);
    CHECK_FALSE(w.reply(id));

    w.net.run_for(2 * us_per_s);
    auto r = w.reply(id);
    REQUIRE(r);
    CHECK(r->kind == "command_failed");
    CHECK(code_of(*r) == 504);
    CHECK(*r->field("verb") == "balance");
    // The ledger's own answer after the timeout is late: nothing more.
    ledger::balance_reply late{ports::api, ask.req_id, owner, 5, 0, 9};
    w.net.deliver_now(ledger_node, owner, ledger::encode(late));
    w.net.run_for(100 * us_per_ms);
    CHECK(w.of_kind("api_balance").empty());
  }

  SECTION("without a ledger, or with too many asks waiting") {
    world none;
    none.net.start_all();
    CHECK(code_of(*none.reply(none.send("balance"))) == 409);

    account_config c;
    c.ledger = 99; // nobody: every ask waits
    c.max_balance_asks = 2;
    world w(c);
    w.net.start_all();
    w.send("balance");
    w.send("balance");
    CHECK(code_of(*w.reply(w.send("balance"))) == 503);
  }
}

TEST_CASE("account: a restart serves unchanged files again and drops changed or missing ones",
          "[market][account]") {
  world w;
  w.net.start_all();
  std::map<std::string, digest> hashes;
  for (auto name : {"/srv/same", "/srv/touched", "/srv/gone"}) {
    auto data = mkt::make_file(hashes.size() + 20, 700);
    hashes[name] = sha256::of(data);
    w.self().content.put_path(name, data, 50);
    REQUIRE(w.reply(w.provide(name, hashes[name], {700, 50}))->kind == "api_provided");
  }
  // While the node is down: one file is touched, one deleted; served files are forgotten.
  auto& content = w.self().content;
  content.put_path("/srv/touched", content.paths["/srv/touched"].second, 51);
  content.paths.erase("/srv/gone");
  content.files.clear();
  content.served_paths.clear();

  w.net.restart(owner, {make_account(w.cfg)});
  w.net.run_for(1 * us_per_ms);

  auto restored = w.of_kind("api_provide_restored");
  REQUIRE(restored.size() == 1);
  CHECK(*restored[0].field("hash") == to_hex(hashes["/srv/same"]));
  CHECK(*restored[0].field("path") == "/srv/same");
  std::map<std::string, std::string> dropped;
  for (auto& e : w.of_kind("api_provide_dropped"))
    dropped[*e.field("hash")] = *e.field("reason");
  CHECK(dropped == std::map<std::string, std::string>{
                     {to_hex(hashes["/srv/touched"]), "the file changed since it was hashed"},
                     {to_hex(hashes["/srv/gone"]), "the file is gone"}});
  CHECK(w.has_row(hashes["/srv/same"]));
  CHECK_FALSE(w.has_row(hashes["/srv/touched"]));
  CHECK_FALSE(w.has_row(hashes["/srv/gone"]));
  CHECK(content.stat(hashes["/srv/same"]).has_value());
  CHECK_FALSE(content.stat(hashes["/srv/touched"]).has_value());
}

TEST_CASE("account: configuration bounds and the payer's refusal of account verbs",
          "[market][account]") {
  account_config c;
  CHECK(c.check().empty());
  c.max_list = bounds::list_rows_max + 1;
  CHECK_FALSE(c.check().empty());
  c = {};
  c.ledger_timeout = 0;
  CHECK_FALSE(c.check().empty());
  c = {};
  c.ledger_address = "127.0.0.1:1";
  CHECK(c.check() == "ledger_address needs ledger");

  mkt::network net;
  payer_config pc;
  pc.ledger = ledger_node;
  net.add(owner, {make_payer(pc)});
  net.start_all();
  net.command(owner, ports::payer, text_command_of(5, "balance", {}));
  auto f = net.of_kind("command_failed");
  REQUIRE(f.size() == 1);
  CHECK(f[0].value("code") == 400);
}
