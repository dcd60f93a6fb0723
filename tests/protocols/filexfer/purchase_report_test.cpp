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

TEST_CASE("a download resumed after a crash reports its verified prefix to the new payer") {
  auto cfg = small_config();
  cfg.checkpoint_bytes = 256 << 10;
  world w({provider_strategy::honest}, 3 << 20, cfg);
  auto before = add_sink(w);
  w.loop.command(client, ports::file_downloader, text_command_of(1, "download", w.args()));
  w.loop.run_for(5 * us_per_ms); // part of the file arrived
  REQUIRE(w.loop.events_of("download_done").empty());

  // The payer's memory of arrived bytes is gone with the crash.
  auto after = std::make_shared<report_sink>();
  w.loop.restart(client, {make_downloader(cfg), after});
  w.loop.run_until(run_limit);
  REQUIRE(w.loop.events_of("download_done").size() == 1);
  REQUIRE(w.counter("filexfer.resume_verified_bytes") > 0);
  REQUIRE(after->reports.size() > 2);
  CHECK(after->reports[0].length == 0); // the order, for the same purchase
  CHECK(after->reports[0].download == before->reports[0].download);
  CHECK(after->reports[1].offset == 0);
  CHECK(after->reports[1].length == w.counter("filexfer.resume_verified_bytes"));
  // What the new payer heard covers the whole file, so a bill for it is payable.
  peerlab::filexfer::range_set heard;
  for (auto& r : after->reports)
    if (r.length > 0)
      heard.add(r.offset, r.offset + r.length);
  CHECK(heard.covers(0, w.file.size()));
  w.require_verified_copy();
}
