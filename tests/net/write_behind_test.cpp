#include "net/write_behind.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

using namespace peerlab;

TEST_CASE("write_behind: writes land in order, also past the queue bound", "[net][content]") {
  test::temp_dir dir("wb");
  auto file = dir.path() / "f";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  {
    net::write_behind w(1000); // a tiny bound: most writes wait for room
    bytes a(600, 'a'), b(600, 'b'), c(5000, 'c');
    REQUIRE(w.write(fd, 0, a));
    REQUIRE(w.write(fd, 300, b)); // overlaps a: the later write wins
    REQUIRE(w.write(fd, 900, c)); // larger than the bound: goes through alone
    REQUIRE(w.flush(fd));
    bytes back(5900);
    REQUIRE(::pread(fd, back.data(), back.size(), 0) == 5900);
    REQUIRE(std::count(back.begin(), back.begin() + 300, 'a') == 300);
    REQUIRE(std::count(back.begin() + 300, back.begin() + 900, 'b') == 600);
    REQUIRE(std::count(back.begin() + 900, back.end(), 'c') == 5000);
    w.forget(fd);
  }
  ::close(fd);
}

TEST_CASE("write_behind: a failed write is reported and stays reported", "[net][content]") {
  test::temp_dir dir("wb");
  auto file = dir.path() / "f";
  {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT, 0644);
    ::close(fd);
  }
  int ro = ::open(file.c_str(), O_RDONLY); // writes to it fail with EBADF
  REQUIRE(ro >= 0);
  net::write_behind w;
  bytes data(10, 1);
  REQUIRE(w.write(ro, 0, data)); // queued: the failure is not known yet
  std::string err;
  REQUIRE_FALSE(w.flush(ro, &err));
  REQUIRE(err.rfind("write at offset 0 failed: ", 0) == 0);
  err.clear();
  REQUIRE_FALSE(w.write(ro, 10, data, &err));
  REQUIRE_FALSE(err.empty());
  w.forget(ro); // the error goes with the descriptor
  REQUIRE(w.flush(ro));
  ::close(ro);
}

TEST_CASE("write_behind: many contiguous writes are merged and land exactly", "[net][content]") {
  test::temp_dir dir("wb");
  auto file = dir.path() / "f";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  bytes expected;
  {
    net::write_behind w;
    for (int i = 0; i < 300; ++i) { // more than one merged batch (64 writes each)
      bytes piece(1000 + i, static_cast<std::uint8_t>(i));
      REQUIRE(w.write(fd, expected.size(), piece));
      expected.insert(expected.end(), piece.begin(), piece.end());
    }
    REQUIRE(w.flush(fd));
  }
  bytes back(expected.size() + 10);
  REQUIRE(::pread(fd, back.data(), back.size(), 0) == static_cast<ssize_t>(expected.size()));
  back.resize(expected.size());
  REQUIRE(back == expected);
  ::close(fd);
}
