#include "net/disk_content.hpp"

#include "protocols/common/sha256.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
namespace fs = std::filesystem;

namespace {

bytes pattern(std::size_t n) {
  bytes b(n);
  std::uint64_t x = 88172645463325252ULL;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<std::uint8_t>(x);
  }
  return b;
}

void write_file(const fs::path& p, const bytes& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> log_lines;
net::log_fn capture() {
  log_lines.clear();
  return [](const std::string& s) { log_lines.push_back(s); };
}

} // namespace

TEST_CASE("disk_content: provided files are hashed and served by hash", "[net][content]") {
  test::temp_dir dir("content");
  auto data = pattern(3'000'001); // several hashing buffers and a ragged end
  write_file(dir.path() / "movie.bin", data);
  net::disk_content c(dir.path() / "node", capture());
  auto info = c.provide({dir.path() / "movie.bin", "", 7});
  REQUIRE(info.hash == sha256::of(data));
  REQUIRE(info.name == "movie.bin");
  REQUIRE(info.size == data.size());
  REQUIRE(info.price == 7);
  REQUIRE(c.stat(info.hash)->name == "movie.bin");
  bytes out;
  REQUIRE(c.read(info.hash, 1'000'000, 4096, out));
  REQUIRE(out == bytes(data.begin() + 1'000'000, data.begin() + 1'004'096));
  REQUIRE(c.read(info.hash, data.size() - 10, 4096, out)); // clipped at the end
  REQUIRE(out.size() == 10);
  digest other{};
  REQUIRE_FALSE(c.stat(other));
  REQUIRE_FALSE(c.read(other, 0, 10, out));
}

TEST_CASE("disk_content: a missing provided file is an error naming it", "[net][content]") {
  test::temp_dir dir("content");
  net::disk_content c(dir.path() / "node", capture());
  REQUIRE_THROWS_WITH(c.provide({dir.path() / "nope.bin", "", 0}),
                      Catch::Matchers::Contains("nope.bin"));
}

TEST_CASE("disk_content: a sink written out of order commits into downloads", "[net][content]") {
  test::temp_dir dir("content");
  net::disk_content c(dir.path(), capture());
  auto data = pattern(100'000);
  auto h = sha256::of(data);
  auto s = c.open_sink(h, "report.pdf", data.size());
  REQUIRE(s != 0);
  auto part = dir.path() / "downloads" / ".partial" / (to_hex(h) + ".part");
  REQUIRE(fs::exists(part));
  REQUIRE(c.write(s, 60'000, byte_view{data.data() + 60'000, 40'000}));
  REQUIRE(c.write(s, 0, byte_view{data.data(), 60'000}));
  bytes back;
  REQUIRE(c.read_sink(s, 59'990, 20, back));
  REQUIRE(back == bytes(data.begin() + 59'990, data.begin() + 60'010));
  REQUIRE_FALSE(c.write(s, 99'999, byte_view{data.data(), 2})); // past the announced size
  REQUIRE(c.commit_sink(s));
  auto final_path = dir.path() / "downloads" / "report.pdf";
  REQUIRE(read_file(final_path) == data);
  REQUIRE_FALSE(fs::exists(part));
  REQUIRE(c.committed_path(h) == final_path);
  REQUIRE(c.stat(h)->size == data.size());                 // a finished download is served too
  REQUIRE_FALSE(c.write(s, 0, byte_view{data.data(), 1})); // the handle is spent
}

TEST_CASE("disk_content: discard deletes the partial file", "[net][content]") {
  test::temp_dir dir("content");
  net::disk_content c(dir.path(), capture());
  digest h{};
  h[0] = 1;
  auto s = c.open_sink(h, "x", 10);
  REQUIRE(s != 0);
  auto part = dir.path() / "downloads" / ".partial" / (to_hex(h) + ".part");
  REQUIRE(fs::exists(part));
  c.discard_sink(s);
  REQUIRE_FALSE(fs::exists(part));
  REQUIRE_FALSE(c.commit_sink(s));
  REQUIRE(fs::is_empty(dir.path() / "downloads" / ".partial"));
}

TEST_CASE("disk_content: names cannot escape the download folder", "[net][content]") {
  test::temp_dir dir("content");
  net::disk_content c(dir.path() / "node", capture());
  auto data = pattern(100);
  auto h = sha256::of(data);
  auto s = c.open_sink(h, "../../evil.sh", data.size());
  REQUIRE(c.write(s, 0, data));
  REQUIRE(c.commit_sink(s));
  REQUIRE(c.committed_path(h) == dir.path() / "node" / "downloads" / "evil.sh");
  REQUIRE_FALSE(fs::exists(dir.path() / "evil.sh"));
  REQUIRE_FALSE(fs::exists(dir.path() / "node" / "evil.sh"));

  digest z{};
  REQUIRE(net::disk_content::sanitise_name("/etc/passwd", z) == "passwd");
  REQUIRE(net::disk_content::sanitise_name("..\\..\\win.ini", z) == "win.ini");
  REQUIRE(net::disk_content::sanitise_name("..", z) == to_hex(z));
  REQUIRE(net::disk_content::sanitise_name("", z) == to_hex(z));
  REQUIRE(net::disk_content::sanitise_name(".hidden", z) == "hidden");
  REQUIRE(net::disk_content::sanitise_name("a\nb;c$(d).txt", z) == "a_b_c__d_.txt");
  REQUIRE(net::disk_content::sanitise_name(std::string(300, 'a'), z).size() == 200);
}

TEST_CASE("disk_content: an existing different file is never overwritten", "[net][content]") {
  test::temp_dir dir("content");
  net::disk_content c(dir.path(), capture());
  auto mine = pattern(50);
  auto theirs = bytes(50, 'x');
  write_file(dir.path() / "downloads" / "data.csv", theirs);
  auto h = sha256::of(mine);
  auto s = c.open_sink(h, "data.csv", mine.size());
  REQUIRE(c.write(s, 0, mine));
  REQUIRE(c.commit_sink(s));
  REQUIRE(read_file(dir.path() / "downloads" / "data.csv") == theirs);
  auto alt = dir.path() / "downloads" / ("data-" + to_hex(h).substr(0, 8) + ".csv");
  REQUIRE(c.committed_path(h) == alt);
  REQUIRE(read_file(alt) == mine);

  // The same bytes again: accepted without a third copy.
  auto s2 = c.open_sink(h, "data.csv", mine.size());
  REQUIRE(c.write(s2, 0, mine));
  REQUIRE(c.commit_sink(s2));
  REQUIRE(c.committed_path(h) == alt);

  // Both names taken by other files: refused, reported, partial removed.
  auto other = pattern(51);
  auto h3 = sha256::of(other);
  write_file(dir.path() / "downloads" / ("data-" + to_hex(h3).substr(0, 8) + ".csv"), theirs);
  auto s3 = c.open_sink(h3, "data.csv", other.size());
  REQUIRE(c.write(s3, 0, other));
  REQUIRE_FALSE(c.commit_sink(s3));
  REQUIRE_FALSE(log_lines.empty());
  REQUIRE(log_lines.back().find("not saving") != std::string::npos);
  REQUIRE(fs::is_empty(dir.path() / "downloads" / ".partial"));
}

TEST_CASE("disk_content: one sink per hash at a time", "[net][content]") {
  test::temp_dir dir("content");
  net::disk_content c(dir.path(), capture());
  digest h{};
  auto s = c.open_sink(h, "a", 1);
  REQUIRE(s != 0);
  REQUIRE(c.open_sink(h, "a", 1) == 0);
  REQUIRE(log_lines.back().find("already being downloaded") != std::string::npos);
}

TEST_CASE("disk_content: aligned and ragged writes mix in one sink", "[net][content]") {
  // Aligned pieces may take the O_DIRECT path, the ragged end the buffered one.
  test::temp_dir dir("content");
  net::disk_content c(dir.path(), capture());
  auto data = pattern(3 * 65536 + 1000);
  auto h = sha256::of(data);
  auto s = c.open_sink(h, "mixed.bin", data.size());
  REQUIRE(s != 0);
  REQUIRE(c.write(s, 3 * 65536, byte_view{data.data() + 3 * 65536, 1000}));
  REQUIRE(c.write(s, 65536, byte_view{data.data() + 65536, 2 * 65536}));
  bytes back;
  REQUIRE(c.read_sink(s, 3 * 65536 - 10, 20, back)); // across the two kinds of write
  REQUIRE(back == bytes(data.begin() + 3 * 65536 - 10, data.begin() + 3 * 65536 + 10));
  REQUIRE(c.write(s, 0, byte_view{data.data(), 65536}));
  REQUIRE(c.write(s, 100, byte_view{data.data() + 100, 50})); // unaligned rewrite, same bytes
  REQUIRE(c.commit_sink(s));
  REQUIRE(read_file(dir.path() / "downloads" / "mixed.bin") == data);
}

TEST_CASE("disk_content: a symbolic link at the download's name is never written through",
          "[net][content]") {
  test::temp_dir dir("content");
  fs::create_directories(dir.path() / "outside");
  net::disk_content c(dir.path() / "node", capture());
  auto link = dir.path() / "node" / "downloads" / "report.pdf";
  fs::create_symlink(dir.path() / "outside" / "report.pdf", link); // dangling: a new file there
  auto data = pattern(70'000);
  auto h = sha256::of(data);
  auto s = c.open_sink(h, "report.pdf", data.size());
  REQUIRE(c.write(s, 0, data));
  REQUIRE(c.commit_sink(s));
  CHECK_FALSE(fs::exists(dir.path() / "outside" / "report.pdf"));
  CHECK(fs::is_symlink(link)); // what was there is kept
  auto saved = c.committed_path(h);
  REQUIRE(saved);
  CHECK(saved->filename() == "report-" + to_hex(h).substr(0, 8) + ".pdf");
  CHECK_FALSE(fs::is_symlink(*saved));
  CHECK(read_file(*saved) == data);
  bool named = false;
  for (auto& l : log_lines)
    named |=
      l.find(link.string()) != std::string::npos && l.find("symbolic link") != std::string::npos;
  CHECK(named);
}

TEST_CASE("disk_content: folders swapped for symbolic links after start do not redirect writes",
          "[net][content]") {
  test::temp_dir dir("content");
  auto outside = dir.path() / "outside";
  fs::create_directories(outside);
  net::disk_content c(dir.path() / "node", capture());
  auto downloads = dir.path() / "node" / "downloads";
  // Both the downloads folder and its .partial are replaced by links to a folder outside.
  fs::rename(downloads, dir.path() / "node" / "moved");
  fs::create_symlink(outside, downloads);
  fs::create_directories(outside / ".partial");
  auto data = pattern(50'000);
  auto h = sha256::of(data);
  auto s = c.open_sink(h, "movie.bin", data.size());
  REQUIRE(s != 0);
  REQUIRE(c.write(s, 0, data));
  REQUIRE(c.commit_sink(s));
  CHECK(fs::is_empty(outside / ".partial"));
  CHECK_FALSE(fs::exists(outside / "movie.bin"));
  CHECK(read_file(dir.path() / "node" / "moved" / "movie.bin") == data);
}

TEST_CASE("disk_content: a downloads folder that is a symbolic link is refused, naming it",
          "[net][content]") {
  test::temp_dir dir("content");
  fs::create_directories(dir.path() / "outside");
  fs::create_directories(dir.path() / "node");
  fs::create_symlink(dir.path() / "outside", dir.path() / "node" / "downloads");
  REQUIRE_THROWS_WITH(net::disk_content(dir.path() / "node", capture()),
                      Catch::Matchers::Contains((dir.path() / "node" / "downloads").string()) &&
                        Catch::Matchers::Contains("symbolic link"));
}

TEST_CASE("disk_content: a new store resumes the partial file another left, keeping its bytes",
          "[net][content]") {
  test::temp_dir dir("content");
  auto data = pattern(300000);
  digest h = sha256::of(data);
  {
    net::disk_content c(dir.path(), capture());
    auto s = c.open_sink(h, "movie.bin", data.size());
    REQUIRE(s != 0);
    REQUIRE(c.write(s, 0, byte_view{data.data(), 200000}));
    REQUIRE(c.flush_sink(s));
    // The store goes away without commit or discard, as a killed node's would.
  }
  net::disk_content c(dir.path(), capture());
  REQUIRE(c.resume_sink(h, "movie.bin", data.size() + 1) == 0); // another size: not resumed
  auto s = c.resume_sink(h, "movie.bin", data.size());
  REQUIRE(s != 0);
  bytes back;
  REQUIRE(c.read_sink(s, 0, 200000, back));
  CHECK(back == bytes(data.begin(), data.begin() + 200000));
  REQUIRE(c.write(s, 200000, byte_view{data.data() + 200000, data.size() - 200000}));
  REQUIRE(c.commit_sink(s));
  CHECK(c.stat(h).has_value());
  digest other{};
  other[0] = 1;
  CHECK(c.resume_sink(other, "x", 10) == 0); // no partial file of that hash
}
