// Layer 0 live (real folders, atomic writes, bounded scans), the
// fault-injecting mirror, and layers 0 + 1 together through them.
#include "drop_pair.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
using namespace peerlab::drop_test;
namespace fs = std::filesystem;

namespace {
std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    n += it->is_regular_file();
  return n;
}
void write_raw(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}
byte_view view(const bytes& b) { return {b.data(), b.size()}; }
} // namespace

TEST_CASE("drop folder file names carry sender recipient and packet id and parse strictly",
          "[net][drop]") {
  net::drop_route r{0x0123456789abcdefull, 42, 7};
  auto name = net::drop_file_name(r);
  CHECK(name == "0123456789abcdef--000000000000002a--0000000000000007.packet");
  CHECK(net::parse_drop_file_name(name) == r);
  CHECK_FALSE(
    net::parse_drop_file_name("0123456789ABCDEF--000000000000002a--0000000000000007.packet"));
  CHECK_FALSE(
    net::parse_drop_file_name("0123456789abcdef--000000000000002a--0000000000000007.pkt"));
  CHECK_FALSE(
    net::parse_drop_file_name("0123456789abcdef-000000000000002a--0000000000000007.packet"));
  CHECK_FALSE(net::parse_drop_file_name(
    ".0123456789abcdef--000000000000002a--0000000000000007.packet.1.tmp"));
  CHECK_FALSE(net::parse_drop_file_name(""));
}

TEST_CASE("drop folder writes atomically and hands each new file out once", "[net][drop]") {
  test::temp_dir t("dropfolder");
  net::drop_folder a(t.path(), t.path(), id_a), b(t.path(), t.path(), id_b);
  bytes data = body_of(1, 3000, 9);
  auto p = a.write(id_b, 5, view(data));
  CHECK(p == t.path() / net::hex16(id_b) / net::drop_file_name({id_a, id_b, 5}));
  CHECK(files_in(t.path()) == 1); // no temporary file left behind
  // Files being written (temporary names), other tenants' files and junk are skipped.
  write_raw(b.incoming_dir() / ".half-written.tmp", "xx");
  write_raw(b.incoming_dir() / "notes.txt", "hello");
  write_raw(b.incoming_dir() / net::drop_file_name({id_a, 99, 1}), "for someone else");
  auto got = b.scan();
  REQUIRE(got.size() == 1);
  CHECK(got[0].route == net::drop_route{id_a, id_b, 5});
  CHECK(got[0].data == data);
  CHECK(b.stats().ignored_names == 2);
  CHECK(b.scan().empty()); // handed out once
  CHECK(a.scan().empty()); // nothing for a
  CHECK(b.remove_incoming(id_a, 5));
  CHECK_FALSE(fs::exists(p));
  // Written again under the same name after removal: handed out again.
  a.write(id_b, 5, view(data));
  CHECK(b.scan().size() == 1);
  CHECK(a.remove_outgoing(id_b, 5));
  CHECK_FALSE(a.remove_outgoing(id_b, 5));
}

TEST_CASE("drop folder scans are bounded and come in sender then packet id order", "[net][drop]") {
  test::temp_dir t("dropscan");
  net::drop_folder_limits lim;
  lim.max_files_per_scan = 3;
  net::drop_folder a(t.path(), t.path(), id_a), b(t.path(), t.path(), id_b, lim);
  bytes data(10, 1);
  for (std::uint64_t id = 10; id > 0; --id)
    a.write(id_b, id, view(data));
  std::vector<std::uint64_t> order;
  for (int round = 0; round < 5; ++round) {
    auto got = b.scan();
    CHECK(got.size() <= 3);
    for (auto& f : got)
      order.push_back(f.route.packet_id);
  }
  CHECK(order == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE("drop folder refuses and deletes files above the size bound", "[net][drop]") {
  test::temp_dir t("dropbig");
  net::drop_folder_limits lim;
  lim.max_file_bytes = 100;
  net::drop_folder a(t.path(), t.path(), id_a), b(t.path(), t.path(), id_b, lim);
  a.write(id_b, 1, view(bytes(101, 7)));
  a.write(id_b, 2, view(bytes(100, 7)));
  auto got = b.scan();
  REQUIRE(got.size() == 1);
  CHECK(got[0].route.packet_id == 2);
  CHECK(b.stats().oversize == 1);
  CHECK_FALSE(fs::exists(b.incoming_dir() / net::drop_file_name({id_a, id_b, 1})));
}

TEST_CASE("mirror copies late, once, atomically, and truncates or flips bits as asked",
          "[net][drop]") {
  test::temp_dir t("mirror");
  auto src = t.path() / "src", dst = t.path() / "dst";
  for (int i = 0; i < 20; ++i)
    write_raw(src / "sub" / ("f" + std::to_string(i)), std::string(1000, 'x'));
  write_raw(src / "sub" / ".partial.tmp", "being written");
  net::mirror_options o;
  o.src = src;
  o.dst = dst;
  o.delay = 1000;
  o.seed = 3;
  SECTION("clean copies after the delay") {
    net::mirror m(o);
    m.step(0);
    CHECK(m.next_due() <= 1000);
    m.step(1000);
    CHECK(m.stats().copied == 20);
    CHECK(files_in(dst) == 20);
    for (int i = 0; i < 20; ++i) {
      std::ifstream in(dst / "sub" / ("f" + std::to_string(i)), std::ios::binary);
      std::string s((std::istreambuf_iterator<char>(in)), {});
      CHECK(s == std::string(1000, 'x'));
    }
    m.step(5000); // each file only once
    CHECK(m.stats().copied == 20);
    fs::remove(dst / "sub" / "f0"); // the reader deleted it: not copied again
    m.step(6000);
    CHECK(m.stats().copied == 20);
  }
  SECTION("every copy truncated") {
    o.truncate = 1;
    net::mirror m(o);
    m.step(0);
    m.step(1000);
    CHECK(m.stats().truncated == 20);
    for (int i = 0; i < 20; ++i)
      CHECK(fs::file_size(dst / "sub" / ("f" + std::to_string(i))) < 1000);
  }
  SECTION("bit rot per byte") {
    o.corrupt = 0.01; // about 10 flips per 1000-byte file
    net::mirror m(o);
    m.step(1000);
    m.step(2000);
    CHECK(m.stats().corrupted >= 19);
    CHECK(m.stats().truncated == 0);
  }
  SECTION("every file lost") {
    o.loss = 1;
    net::mirror m(o);
    m.step(0);
    m.step(1000);
    CHECK(m.stats().lost == 20);
    CHECK(m.stats().copied == 0);
    CHECK(files_in(dst) == 0);
    CHECK(m.next_due() == std::numeric_limits<time_us>::max());
  }
  SECTION("every file copied twice: a reader that consumed the first copy sees it again") {
    o.duplicate = 1;
    net::mirror m(o);
    std::size_t consumed = 0;
    for (time_us t = 0; t <= 1000; ++t) {
      m.step(t);
      if (!fs::exists(dst / "sub"))
        continue;
      std::vector<fs::path> seen;
      for (auto& e : fs::directory_iterator(dst / "sub"))
        seen.push_back(e.path());
      for (auto& p : seen) // the reader takes every file it sees
        consumed += fs::remove(p);
    }
    CHECK(m.stats().duplicated == 20);
    CHECK(m.stats().copied == 40);
    CHECK(consumed == 40);
  }
  SECTION("bad options") {
    o.loss = -0.1;
    CHECK_THROWS_WITH(net::mirror(o), Catch::Contains("--loss"));
    o.loss = 0;
    o.duplicate = 2;
    CHECK_THROWS_WITH(net::mirror(o), Catch::Contains("--duplicate"));
    o.duplicate = 0;
    o.truncate = 1.5;
    CHECK_THROWS_WITH(net::mirror(o), Catch::Contains("--truncate"));
    o.truncate = 0;
    o.dst = src;
    CHECK_THROWS_WITH(net::mirror(o), Catch::Contains("same folder"));
  }
  SECTION("missing folders are created, a file in their place is refused") {
    auto fresh = o;
    fresh.src = t.path() / "later_src";
    fresh.dst = t.path() / "later_dst";
    net::mirror m(fresh);
    CHECK(fs::is_directory(fresh.src));
    CHECK(fs::is_directory(fresh.dst));
    write_raw(t.path() / "plain", "a file");
    fresh.src = t.path() / "plain";
    CHECK_THROWS_WITH(net::mirror(fresh), Catch::Contains("is not a folder"));
  }
}

namespace {
/// Runs `n` messages each way through the pair; `restart_b_at` restarts b once.
struct exchange_result {
  std::size_t delivered[2] = {0, 0};
  std::size_t violations = 0;
  time_us finished = 0;
};
exchange_result exchange(folder_pair& p, std::size_t n, time_us deadline,
                         time_us restart_b_at = -1) {
  exchange_result r;
  std::size_t submitted[2] = {0, 0};
  for (time_us t = 0; t < deadline; t += 10 * us_per_ms) {
    if (restart_b_at >= 0 && t == restart_b_at)
      p.restart(1);
    for (int s = 0; s < 2; ++s) {
      // Submit in bursts of 10 every 10 ms of virtual time.
      for (int k = 0; k < 10 && submitted[s] < n; ++k) {
        auto b = body_of(submitted[s], 40 + (submitted[s] * 37) % 700, s);
        if (!p.host(s).find(p.id(1 - s))->submit(view(b)))
          break;
        ++submitted[s];
      }
      for (auto& m : p.step(s, t)) {
        auto& k = r.delivered[s];
        if (m.data != body_of(k, 40 + (k * 37) % 700, 1 - s))
          ++r.violations;
        ++k;
      }
    }
    if (r.delivered[0] == n && r.delivered[1] == n && p.host(0).find(id_b)->outbox_entries() == 0 &&
        p.host(1).find(id_a)->outbox_entries() == 0) {
      r.finished = t;
      break;
    }
  }
  return r;
}
} // namespace

TEST_CASE("two droplog sides exchange messages through one shared folder and clean it up",
          "[net][drop]") {
  test::temp_dir t("droppair");
  folder_pair p(t.path(), std::nullopt);
  auto r = exchange(p, 300, 60 * us_per_s);
  CHECK(r.delivered[0] == 300);
  CHECK(r.delivered[1] == 300);
  CHECK(r.violations == 0);
  CHECK(r.finished > 0);
  // Housekeeping: a few more rounds and only the latest ack-only files remain.
  for (time_us t2 = r.finished; t2 < r.finished + 2 * us_per_s; t2 += 10 * us_per_ms)
    for (int s = 0; s < 2; ++s)
      p.step(s, t2);
  CHECK(files_in(t.path()) <= 4);
}

TEST_CASE("two droplog sides exchange messages through a mirror that truncates half the files",
          "[net][drop]") {
  test::temp_dir t("dropmirror");
  net::mirror_options o;
  o.truncate = 0.5;
  o.corrupt = 1e-4;
  o.delay = 300 * us_per_ms;
  o.seed = 11;
  folder_pair p(t.path(), o);
  auto r = exchange(p, 200, 300 * us_per_s);
  CHECK(r.violations == 0);
  CHECK(r.delivered[0] == 200);
  CHECK(r.delivered[1] == 200);
  CHECK(p.mirror(0)->stats().truncated > 10);
  CHECK(p.host(1).find(id_a)->stats().packets_truncated > 0);
}

TEST_CASE("a side restarted mid-transfer through folders loses nothing already acknowledged",
          "[net][drop]") {
  test::temp_dir t("droprestart");
  net::mirror_options o;
  o.truncate = 0.3;
  o.delay = 200 * us_per_ms;
  o.seed = 5;
  folder_pair p(t.path(), o);
  // b restarts after 1.5 s of virtual time, in the middle of the exchange.
  auto r = exchange(p, 300, 300 * us_per_s, 1500 * us_per_ms);
  CHECK(r.violations == 0); // nothing twice, nothing out of order
  CHECK(r.delivered[0] == 300);
  CHECK(r.delivered[1] == 300);
}

TEST_CASE("a forged file dropped into the folder is rejected and deleted", "[net][drop]") {
  test::temp_dir t("dropforge");
  folder_pair p(t.path(), std::nullopt);
  // Someone without the key writes a well-formed packet claiming to be a.
  droplog::direction_keys wrong("not the shared key, but 32 bytes", id_a, id_b);
  droplog::message_frame m;
  m.payload = body_of(0, 40, 0);
  droplog::control_block c;
  auto forged = droplog::encode_packet(0, id_a, id_b, 1, c, {&m}, wrong);
  net::write_file_atomically(p.folder(1).incoming_dir(), net::drop_file_name({id_a, id_b, 1}),
                             view(forged));
  auto got = p.step(1, 0);
  CHECK(got.empty());
  CHECK(p.host(1).find(id_a)->stats().packets_rejected == 1);
  CHECK_FALSE(fs::exists(p.folder(1).incoming_dir() / net::drop_file_name({id_a, id_b, 1})));
}
