#include "protocols/common/printable.hpp"

#include <catch2/catch.hpp>

#include <string>

using peerlab::is_printable;
using peerlab::printable;

TEST_CASE("printable keeps safe text unchanged", "[common][printable]") {
  for (std::string s : {"", "provider 3: not found", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                        "tab-free ASCII ~!@#$%^&*()"}) {
    CAPTURE(s);
    CHECK(is_printable(s));
    CHECK(printable(s) == s);
  }
}

TEST_CASE("printable escapes controls, backslashes and invalid UTF-8", "[common][printable]") {
  CHECK(printable("a\x1b[31mred") == "a\\x1b[31mred");       // terminal escape
  CHECK(printable(std::string("nul\0x", 5)) == "nul\\x00x"); // embedded NUL
  CHECK(printable("line\nbreak\x7f") == "line\\x0abreak\\x7f");
  CHECK(printable("back\\slash") == "back\\\\slash");
  CHECK(printable("\xc2\x85") == "\\xc2\\x85"); // C1 control U+0085
  CHECK(printable("bad \xff\xfe end") == "bad \\xff\\xfe end");
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                   // overlong "/"
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");          // UTF-16 surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80"); // above U+10FFFF
  CHECK(printable("cut \xe2\x82") == "cut \\xe2\\x82");           // truncated sequence
  CHECK(printable("\x80tail") == "\\x80tail");                    // lone continuation byte
}

TEST_CASE("printable output is always printable", "[common][printable]") {
  // Every single byte and every pair of bytes.
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) {
      std::string s{static_cast<char>(a), static_cast<char>(b)};
      auto out = printable(s);
      CAPTURE(a, b, out);
      REQUIRE(is_printable(out));
    }
}
