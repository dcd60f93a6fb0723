// The control channel of a live node (apps/peerlab/node_control.hpp): what a
// line must be, and the reader's handling of long lines and end of input.
#include "apps/peerlab/node_control.hpp"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <unistd.h>

using peerlab::app::control_line;
using peerlab::app::parse_control_line;

TEST_CASE("a control line is one command object", "[control]") {
  control_line c;
  std::string err;
  REQUIRE(parse_control_line(
    R"({"id": 7, "role": "downloader", "verb": "download", "args": ["ab", "12"]})", c, err));
  CHECK(c.id == 7);
  CHECK(c.role == "downloader");
  CHECK(c.verb == "download");
  CHECK(c.args == std::vector<std::string>{"ab", "12"});
  REQUIRE(parse_control_line(R"({"id": 1, "role": "kad", "verb": "bootstrap"})", c, err));
  CHECK(c.args.empty());
  REQUIRE(parse_control_line(
    R"({"id": 2, "role": "droplog", "verb": "send", "args": ["9", {"hex": "ff00"}]})", c, err));
  CHECK(c.args == std::vector<std::string>{"9", std::string("\xff\x00", 2)});
}

TEST_CASE("a bad control line is refused with the field named", "[control]") {
  control_line c;
  std::string err;
  auto refused = [&](const std::string& line, const std::string& part) {
    err.clear();
    CHECK_FALSE(parse_control_line(line, c, err));
    CHECK(err.find(part) != std::string::npos);
  };
  refused("not json", "JSON object");
  refused("[1,2]", "JSON object");
  refused(R"({"role": "kad", "verb": "x"})", "id");
  refused(R"({"id": 0, "role": "kad", "verb": "x"})", "id");
  refused(R"({"id": -3, "role": "kad", "verb": "x"})", "id");
  refused(R"({"id": 72057594037927936, "role": "kad", "verb": "x"})", "id"); // 2^56
  refused(R"({"id": 1, "verb": "x"})", "role");
  refused(R"({"id": 1, "role": "", "verb": "x"})", "role");
  refused(R"({"id": 1, "role": "kad"})", "verb");
  refused(R"({"id": 1, "role": "kad", "verb": "x", "args": "a"})", "args");
  refused(R"({"id": 1, "role": "kad", "verb": "x", "args": [1]})", "args[0]");
  refused(R"({"id": 1, "role": "kad", "verb": "x", "args": [{"hex": "zz"}]})", "args[0]");
  refused(R"({"id": 1, "role": "kad", "verb": "x", "args": [{"hex": "00", "b": 1}]})", "args[0]");
  refused(R"({"id": 1, "role": "kad", "verb": "x", "extra": 1})", "unknown key \"extra\"");
}

TEST_CASE("the control reader skips bad and overlong lines and reports the end", "[control]") {
  int p[2];
  REQUIRE(pipe(p) == 0);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> verbs;
  std::vector<std::pair<std::uint64_t, std::string>> errors;
  bool ended = false;
  {
    peerlab::app::control_reader r(
      p[0],
      [&](const control_line& c) {
        std::lock_guard g(mu);
        verbs.push_back(c.verb);
      },
      [&](std::uint64_t line, const std::string& e) {
        std::lock_guard g(mu);
        errors.emplace_back(line, e);
      },
      [&] {
        std::lock_guard g(mu);
        ended = true;
        cv.notify_all();
      });
    std::string input = R"({"id": 1, "role": "a", "verb": "first"})"
                        "\n"
                        "garbage\n"
                        "\n" +
                        std::string(peerlab::app::control_bounds::line_bytes_max + 10, 'x') +
                        "\n"
                        R"({"id": 2, "role": "a", "verb": "second"})"
                        "\n";
    std::size_t off = 0;
    while (off < input.size()) {
      auto n = write(p[1], input.data() + off, input.size() - off);
      REQUIRE(n > 0);
      off += static_cast<std::size_t>(n);
    }
    close(p[1]);
    std::unique_lock l(mu);
    cv.wait(l, [&] { return ended; });
  }
  close(p[0]);
  CHECK(verbs == std::vector<std::string>{"first", "second"});
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].first == 2);
  CHECK(errors[1].first == 4);
  CHECK(errors[1].second.find("longer than") != std::string::npos);
}
