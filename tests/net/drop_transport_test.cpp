// The folder transport of live nodes (net/drop_transport.hpp) on a real
// folder and a real io thread: inotify, not a polling loop, hands new files
// over; bad files are rejected with a log line and deleted; the role's
// deletions and the write queue's bound are honoured.
#include "drop_pair.hpp"
#include "net/drop_transport.hpp"
#include "protocols/droplog/droplog.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

using namespace peerlab;
using namespace peerlab::drop_test;
namespace fs = std::filesystem;

namespace {

/// One packet file from `from` to `to`, as the role would send it.
bytes packet(peer_id from, peer_id to, std::uint64_t* packet_id) {
  droplog::host h(from, {to}, small_session(), nullptr);
  bytes msg{'h', 'i'};
  REQUIRE(h.find(to)->submit({msg.data(), msg.size()}));
  auto r = h.poll(0);
  REQUIRE(!r.files.empty());
  *packet_id = r.files[0].packet.packet_id;
  return r.files[0].packet.data;
}

/// A transport for id_b on one folder, its io thread, and what it reports.
struct rig {
  explicit rig(net::drop_folders_config c) {
    transport = std::make_unique<net::drop_transport>(
      io, c, id_b,
      [this](peer_id from, bytes f) {
        std::lock_guard lock(mu);
        got.emplace_back(from, std::move(f));
        cv.notify_all();
      },
      [this](const std::string& line) {
        std::lock_guard lock(mu);
        logs.push_back(line);
        cv.notify_all();
      },
      [this](const std::string& name, double d) {
        std::lock_guard lock(mu);
        counts[name] += d;
        cv.notify_all();
      });
    boost::asio::post(io, [this] { transport->start(); });
    thread = std::thread([this] { io.run(); });
  }
  ~rig() {
    boost::asio::post(io, [this] {
      transport->stop();
      work.reset();
    });
    thread.join();
  }
  template <class F>
  bool wait(F f) { // up to 5 s; the safety rescan is set far beyond that
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), f);
  }

  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
    io.get_executor()};
  std::unique_ptr<net::drop_transport> transport;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<peer_id, bytes>> got;
  std::vector<std::string> logs;
  std::map<std::string, double> counts;
};

bool logged(rig& r, const std::string& part) {
  for (auto& l : r.logs)
    if (l.find(part) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("drop transport hands over new files on inotify and deletes what the role names",
          "[net][drop]") {
  test::temp_dir t("droptransport");
  net::drop_folders_config c{t.path() / "out", t.path() / "in"};
  c.rescan_interval = 3600 * us_per_s; // only inotify can trigger a scan in this test
  rig r(c);
  std::uint64_t id = 0;
  auto data = packet(id_a, id_b, &id);
  // The other side (or the mirror) writes into in/<id_b>/, atomically.
  net::drop_folder writer(t.path() / "in", t.path() / "unused", id_a);
  auto file = writer.write(id_b, id, {data.data(), data.size()});
  REQUIRE(r.wait([&] { return !r.got.empty(); }));
  {
    std::lock_guard lock(r.mu);
    CHECK(r.got[0].first == id_a);
    REQUIRE(r.got[0].second.size() == data.size() + 1);
    CHECK(r.got[0].second[0] == ports::droplog);
    CHECK(bytes(r.got[0].second.begin() + 1, r.got[0].second.end()) == data);
  }
  CHECK(fs::exists(file)); // kept until the role's housekeeping says otherwise
  r.transport->remove("i:" + std::to_string(id_a) + ":" + std::to_string(id) + " bogus o:x:1");
  REQUIRE(r.wait([&] { return r.counts["drop.files_deleted"] == 1; }));
  CHECK_FALSE(fs::exists(file));

  // Not a droplog packet, and a packet under another packet's name: rejected,
  // logged, deleted; nothing handed over.
  net::write_file_atomically(t.path() / "in" / net::hex16(id_b),
                             net::drop_file_name({id_a, id_b, 77}), bytes{'x', 'y'});
  net::write_file_atomically(t.path() / "in" / net::hex16(id_b),
                             net::drop_file_name({id_a, id_b, id + 1000}), data);
  // Counted, then logged, then deleted: wait for the last.
  auto in = t.path() / "in" / net::hex16(id_b);
  for (int i = 0; i < 500 && !fs::is_empty(in); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(fs::is_empty(in));
  std::lock_guard lock(r.mu);
  CHECK(r.counts["drop.files_rejected"] == 2);
  CHECK(logged(r, "not a droplog packet"));
  CHECK(logged(r, "its header does not match its name"));
  CHECK(r.got.size() == 1);
}

TEST_CASE("drop transport writes the role's frames as packet files within its queue bound",
          "[net][drop]") {
  test::temp_dir t("droptransport");
  net::drop_folders_config c{t.path() / "out", t.path() / "in"};
  std::uint64_t id = 0;
  auto data = packet(id_b, id_a, &id);
  c.max_write_queue_bytes = data.size() + 1; // exactly one frame may wait
  rig r(c);
  bytes frame{ports::droplog};
  frame.insert(frame.end(), data.begin(), data.end());
  r.transport->send(id_a, frame);
  auto path = t.path() / "out" / net::hex16(id_a) / net::drop_file_name({id_b, id_a, id});
  REQUIRE(r.wait([&] { return r.counts["drop.files_written"] == 1; }));
  CHECK(net::read_whole_file(path, 1u << 20) == data);
  // A frame larger than the bound is dropped with a log line; the log resends.
  bytes big = frame;
  big.resize(frame.size() + 1);
  r.transport->send(id_a, big);
  // A frame that is not this node's packet for that peer: a bug, refused.
  r.transport->send(id_b, frame);
  // Counted before logged: wait for the log lines.
  REQUIRE(r.wait([&] {
    return logged(r, "bytes already wait to be written") &&
           logged(r, "is not a packet from this node to it");
  }));
  std::lock_guard lock(r.mu);
  CHECK(r.counts["drop.frames_dropped_queue_full"] == 1);
  CHECK(r.counts["drop.frames_dropped_malformed"] == 1);
}

TEST_CASE("drop transport refuses to start on a folder it cannot make", "[net][drop]") {
  test::temp_dir t("droptransport");
  net::write_file_atomically(t.path(), "plain", bytes{'x'});
  boost::asio::io_context io;
  auto nothing = [](auto&&...) {};
  CHECK_THROWS_WITH(net::drop_transport(io, {t.path() / "plain" / "out", t.path() / "in"}, id_b,
                                        nothing, nothing, nothing),
                    Catch::Contains("cannot create folder"));
}
