#include "protocols/common/printable.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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

TEST_CASE("printable output is valid UTF-8 without control characters", "[common][printable]") {
  // Every pair of bytes, and each pair after a lead byte of a 3 and 4 byte sequence.
  for (int lead : {-1, 0xe2, 0xf0})
    for (int a = 0; a < 256; ++a)
      for (int b = 0; b < 256; ++b) {
        std::string s;
        if (lead >= 0)
          s += static_cast<char>(lead);
        s += static_cast<char>(a);
        s += static_cast<char>(b);
        auto out = printable(s);
        CAPTURE(lead, a, b, out);
        for (unsigned char c : out)
          REQUIRE((c >= 0x20 && c != 0x7f));
        REQUIRE_NOTHROW(nlohmann::json(out).dump()); // strict UTF-8 check
        if (is_printable(s))
          REQUIRE(out == s);
      }
}
