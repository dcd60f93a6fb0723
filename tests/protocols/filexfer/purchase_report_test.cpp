// What a paid download tells the node's payer (filexfer::purchase_report
// through effects::ask), and the download's max_price.
#include "protocols/filexfer/commands.hpp"
#include "tests/protocols/filexfer/download_world.hpp"

using namespace fxtest;
using peerlab::filexfer::no_max_price;
using peerlab::filexfer::purchase_report;
using peerlab::filexfer::purchase_reports;

namespace {

// Stands in for the payer role: keeps the reports it is sent.
struct report_sink final : role {
  std::vector<purchase_report> reports;
  port_t port() const override { return ports::payer; }
  const char* name() const override { return "payer"; }
  void frame(context&, peer_id, byte_view, effects&) override {}
  void command(context&, const peerlab::command& c, effects&) override {
    if (auto* r = c.as<purchase_reports>())
      reports.push_back(std::get<purchase_report>(*r));
  }
};

void download(world& w, std::vector<std::string> args) {
  w.loop.command(client, ports::file_downloader, text_command_of(1, "download", std::move(args)));
  w.loop.run_until(run_limit);
}

std::shared_ptr<report_sink> add_sink(world& w) {
  auto sink = std::make_shared<report_sink>();
  w.loop.at(client).roles[ports::payer] = sink;
  return sink;
}

} // namespace

TEST_CASE("a paid download reports its order, then every chunk that arrived, to the payer") {
  world w({provider_strategy::honest});
  auto sink = add_sink(w);
  download(w, w.args());
  REQUIRE(w.outcome().kind == "download_done");
  REQUIRE(sink->reports.size() > 2);
  auto& order = sink->reports.front();
  CHECK(order.length == 0);
  CHECK(order.provider == 10);
  CHECK(order.hash == w.hash);
  CHECK(order.price == 500);
  CHECK(order.size == w.file.size());
  CHECK(order.max_price == no_max_price);
  std::uint64_t bytes = 0;
  for (auto& r : sink->reports) {
    CHECK(r.download == order.download);
    CHECK(r.offset + r.length <= w.file.size());
    bytes += r.length;
  }
  CHECK(bytes == w.file.size()); // no loss: every byte arrived once
  auto ordered = w.loop.events_of("purchase_ordered");
  REQUIRE(ordered.size() == 1);
  CHECK(*ordered[0].e.field("download") == std::to_string(order.download));
  CHECK(w.loop.events_of("command_failed").empty());
}

TEST_CASE("a provider asking more than max_price is skipped and nothing is ordered") {
  world w({provider_strategy::honest});
  auto sink = add_sink(w);
  auto args = w.args();
  args.push_back("max_price=499");
  download(w, args);
  auto e = w.outcome();
  REQUIRE(e.kind == "download_failed");
  CHECK(e.field("reason")->find("price 500 above max_price 499") != std::string::npos);
  CHECK(sink->reports.empty());
  CHECK(w.loop.events_of("purchase_ordered").empty());
}

TEST_CASE("download: max_price is a decimal amount, and it reaches the payer with the order") {
  command_error err;
  auto bad = peerlab::filexfer::parse_command("download",
                                              {std::string(64, 'a'), "10", "max_price=ten"}, err);
  CHECK_FALSE(bad);
  CHECK(err.reason.find("max_price is not a decimal amount") != std::string::npos);
  auto none =
    peerlab::filexfer::parse_command("download", {std::string(64, 'a'), "max_price=5"}, err);
  CHECK_FALSE(none);
  CHECK(err.reason.find("at least one provider") != std::string::npos);

  world w({provider_strategy::honest});
  auto sink = add_sink(w);
  auto args = w.args();
  args.push_back("max_price=500");
  download(w, args);
  REQUIRE(w.outcome().kind == "download_done");
  REQUIRE_FALSE(sink->reports.empty());
  CHECK(sink->reports.front().max_price == 500);
}
