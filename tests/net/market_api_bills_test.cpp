// A live payer pays no stranger: a peer that sold it nothing sends a
// PAYMENT_REQUEST over a real connection (127.0.0.1) and the payer's balance
// does not move. The same bill drains a payer that does not judge bills
// ("check_bills": false), which is what this guards against.
#include "market_api_world.hpp"
#include "protocols/common/memory_store.hpp"
#include "protocols/market/codec.hpp"

using namespace peerlab;
using namespace peerlab::test;

namespace {

constexpr std::uint64_t funds = 98'497;
constexpr port_t stranger_port = 77; // no role of the payer's node listens here

// A peer that sold nothing and bills the victim for a file on command.
class stranger_biller final : public role {
public:
  struct bill_now {
    static constexpr std::string_view verb = "bill";
    void describe(std::string&) const {}
  };
  using commands = std::variant<bill_now>;

  explicit stranger_biller(peer_id victim) : victim_(victim) {}
  port_t port() const override { return stranger_port; }
  const char* name() const override { return "stranger"; }
  void frame(context&, peer_id, byte_view, effects&) override {}
  void command(context& ctx, const peerlab::command& c, effects& fx) override {
    market::payment_request r;
    r.ref[0] = static_cast<std::uint8_t>(c.id);
    r.hash = sha256::of(bytes{1, 2, 3});
    r.amount = funds - 1001; // all but the fee and a little
    r.recipient = ctx.self;
    r.from = 0;
    r.to = 1 << 20;
    r.due_ms = 30'000;
    fx.send(victim_, market::encode(r));
  }

private:
  peer_id victim_;
};

struct stranger {
  std::unique_ptr<net::live_runtime> rt;
  stranger(peer_id victim, const std::string& victim_address) {
    net::live_options o;
    o.name = "api-bills-stranger";
    o.identity = net::node_identity::ephemeral(); // a stranger with a key of its own
    o.listen = "127.0.0.1:0";
    o.peers = {victim_address};
    o.roles = {std::make_shared<stranger_biller>(victim)};
    o.store = std::make_unique<memory_store>();
    o.content = std::make_unique<net::disk_content>(dir.path(), [](const std::string&) {});
    o.on_log = [](const std::string&) {};
    rt = std::make_unique<net::live_runtime>(std::move(o));
    rt->start();
  }
  ~stranger() { rt->stop(); }
  void bill(std::uint64_t id) {
    rt->command(stranger_port,
                peerlab::command(id, stranger_biller::commands{stranger_biller::bill_now{}}));
  }
  temp_dir dir{"api-bills-stranger"};
};

json payer_roles(peer_id ledger, const std::string& ledger_address, bool check_bills) {
  auto roles = market_roles::downloader(ledger, ledger_address);
  for (auto& r : roles)
    if (r["role"] == "payer")
      r["check_bills"] = check_bills;
  return roles;
}

std::uint64_t balance(api_node& at, peer_id account) {
  auto r = at.get("/api/wallet/balance?account=" + std::to_string(account));
  REQUIRE(r.status == 200);
  return r.body["balance"].get<std::uint64_t>();
}

std::size_t refused(api_node& n) {
  std::size_t k = 0;
  for (auto& e : n.events())
    k += e.kind == "bill_refused" && e.field("reason") && *e.field("reason") == "unsolicited";
  return k;
}

} // namespace

TEST_CASE("market api: a stranger's unsolicited bill does not move a live payer's balance") {
  api_node ledger{"api-bills-ledger", market_roles::ledger()};
  for (bool check : {true, false}) {
    DYNAMIC_SECTION((check ? "a payer that judges bills" : "a naive payer")) {
      std::string name = check ? "api-bills-payer" : "api-bills-naive";
      api_node payer{name, payer_roles(ledger.id(), ledger.address(), check),
                     json{{"ledger", ledger.id()}, {"ledger_address", ledger.address()}}};
      REQUIRE(
        ledger
          .post("/api/ledger/fund", {{"account", std::to_string(payer.id())}, {"amount", funds}})
          .status == 200);
      REQUIRE(api_node::eventually([&] { return balance(ledger, payer.id()) == funds; }));
      stranger s(payer.id(), payer.address());
      if (check) {
        // Billed again until a bill arrives (the connection may not be up yet).
        std::uint64_t id = 1;
        REQUIRE(api_node::eventually([&] {
          s.bill(id++);
          return refused(payer) > 0;
        }));
        std::this_thread::sleep_for(std::chrono::milliseconds(1000)); // ten blocks
        CHECK(balance(ledger, payer.id()) == funds);
        auto own = payer.get("/api/wallet/payments");
        REQUIRE(own.status == 200);
        CHECK(own.body["payments"].empty());
      } else {
        REQUIRE(api_node::eventually([&] {
          s.bill(1); // the same reference each time: one payment
          return balance(ledger, payer.id()) < funds;
        }));
        REQUIRE(api_node::eventually([&] { return balance(ledger, payer.id()) == 1000; }));
      }
    }
  }
}
