// Wire codec: round trips, exact layout, strict rejection of malformed frames.
#include "protocols/common/limits.hpp"
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/kad/kad.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::filexfer;

namespace {

digest test_hash() {
  digest h{};
  for (std::size_t i = 0; i < h.size(); ++i)
    h[i] = static_cast<std::uint8_t>(0xa0 + i);
  return h;
}

payment_ref test_ref() {
  payment_ref r{};
  for (std::size_t i = 0; i < r.size(); ++i)
    r[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return r;
}

// One example of every message type, with non-trivial field values.
std::vector<message> samples() {
  return {
    meta_req{0x0102030405060708ull, test_hash()},
    meta_ok{42, "movie.mkv", 1'000'000, 123'456'789},
    meta_ok{43, "", 0, 0},
    meta_err{7, error_code::not_provider, "not a provider for this file"},
    meta_err{8, error_code::busy, ""},
    content_req{9, test_hash(), 65536, 1u << 20, 65536},
    content_chunk{10, 131072, test_ref(), bytes{1, 2, 3, 4, 5}},
    content_end{11, 1u << 20},
    content_err{12, error_code::bad_range, "range ends past the file size 10"},
    content_err{13, error_code::internal, "cannot read the file"},
  };
}

} // namespace

TEST_CASE("filexfer codec round-trips every message type") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    auto d = decode(f);
    INFO(message_name(f[1]) << " " << d.error);
    REQUIRE(d.ok());
    CHECK(d.msg == m);
    CHECK(encode(d.msg) == f);
  }
}

TEST_CASE("filexfer frames carry the port and type in the first two bytes") {
  CHECK(encode(meta_req{})[0] == ports::file_provider);
  CHECK(encode(content_req{})[0] == ports::file_provider);
  CHECK(encode(meta_ok{})[0] == ports::file_downloader);
  CHECK(encode(content_chunk{1, 0, {}, bytes{1}})[0] == ports::file_downloader);
  CHECK(encode(content_end{})[0] == ports::file_downloader);
  CHECK(encode(meta_req{})[1] == 1);
  CHECK(encode(meta_ok{})[1] == 2);
  CHECK(encode(meta_err{})[1] == 3);
  CHECK(encode(content_req{})[1] == 4);
  CHECK(encode(content_chunk{1, 0, {}, bytes{1}})[1] == 5);
  CHECK(encode(content_end{})[1] == 6);
  CHECK(encode(content_err{})[1] == 7);
}

TEST_CASE("filexfer frames have the documented sizes and little-endian fields") {
  CHECK(encode(meta_req{}).size() == 2 + 8 + 32);
  CHECK(encode(meta_ok{1, "abc", 0, 0}).size() == 2 + 8 + 2 + 3 + 8 + 8);
  CHECK(encode(meta_err{1, error_code::busy, "x"}).size() == 2 + 8 + 1 + 2 + 1);
  CHECK(encode(content_req{}).size() == 2 + 8 + 32 + 8 + 4 + 4);
  CHECK(encode(content_chunk{1, 0, {}, bytes(100)}).size() == 2 + 8 + 8 + 16 + 4 + 100);
  CHECK(encode(content_end{}).size() == 2 + 8 + 8);
  bytes f = encode(content_end{0x0807060504030201ull, 0x1122});
  CHECK(f == bytes{2, 6, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 0x11, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("filexfer encode_chunk equals encode of a content_chunk") {
  bytes data = {9, 8, 7};
  CHECK(encode_chunk(5, 77, test_ref(), data) == encode(content_chunk{5, 77, test_ref(), data}));
}

TEST_CASE("filexfer decode rejects every truncation of every message") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    for (std::size_t len = 0; len < f.size(); ++len) {
      auto d = decode(byte_view{f.data(), len});
      INFO(message_name(f[1]) << " cut to " << len << " of " << f.size());
      CHECK_FALSE(d.ok());
    }
  }
}

TEST_CASE("filexfer decode rejects trailing bytes") {
  for (auto& m : samples()) {
    bytes f = encode(m);
    f.push_back(0);
    auto d = decode(f);
    INFO(message_name(f[1]));
    CHECK_FALSE(d.ok());
    CHECK(d.error.find("trailing") != std::string::npos);
  }
}

TEST_CASE("filexfer decode rejects unknown types and wrong ports") {
  CHECK(decode(bytes{}).error == "frame shorter than its 2-byte header");
  CHECK(decode(bytes{1}).error == "frame shorter than its 2-byte header");
  for (std::uint8_t t : {0, 8, 99, 255}) {
    bytes f = encode(meta_req{});
    f[1] = t;
    CHECK(decode(f).error == "unknown message type " + std::to_string(t));
  }
  bytes req = encode(meta_req{});
  req[0] = ports::file_downloader; // a request sent to the reply port
  CHECK(decode(req).error == "META_REQ: sent to port 2, expected 1");
  bytes ok = encode(meta_ok{});
  ok[0] = ports::kad;
  CHECK_FALSE(decode(ok).ok());
}

TEST_CASE("filexfer decode rejects oversized and out-of-range fields") {
  SECTION("file name longer than the limit") {
    std::string name(limits::file_name_max + 1, 'n');
    auto d = decode(encode(meta_ok{1, name, 0, 0}));
    CHECK(d.error == "META_OK: name truncated or longer than 255 bytes");
    CHECK(decode(encode(meta_ok{1, name.substr(1), 0, 0})).ok());
  }
  SECTION("error text longer than the limit") {
    bytes f = encode(meta_err{1, error_code::internal, ""});
    // Patch the length field to claim a too-long text and append it.
    std::uint16_t n = limits::error_text_max + 1;
    f[f.size() - 2] = static_cast<std::uint8_t>(n);
    f[f.size() - 1] = static_cast<std::uint8_t>(n >> 8);
    f.resize(f.size() + n, 'x');
    CHECK_FALSE(decode(f).ok());
    // The encoder cuts long text, so what it makes always decodes.
    auto d = decode(encode(meta_err{1, error_code::internal, std::string(2000, 'y')}));
    REQUIRE(d.ok());
    CHECK(std::get<meta_err>(d.msg).text.size() == limits::error_text_max);
  }
  SECTION("unknown error codes") {
    for (std::uint8_t code : {0, 5, 255}) {
      bytes f = encode(content_err{1, error_code::busy, "x"});
      f[10] = code;
      CHECK(decode(f).error == "CONTENT_ERR: unknown error code " + std::to_string(code));
    }
  }
  SECTION("content request length and chunk bounds") {
    CHECK_FALSE(decode(encode(content_req{1, {}, 0, 0, 1})).ok());
    CHECK_FALSE(decode(encode(content_req{1, {}, 0, 1, 0})).ok());
    CHECK_FALSE(decode(encode(content_req{
                         1, {}, 0, static_cast<std::uint32_t>(bounds::request_bytes_max + 1), 1}))
                  .ok());
    CHECK_FALSE(decode(encode(content_req{
                         1, {}, 0, 1, static_cast<std::uint32_t>(limits::chunk_bytes_max + 1)}))
                  .ok());
    CHECK(decode(encode(content_req{1,
                                    {},
                                    0,
                                    static_cast<std::uint32_t>(bounds::request_bytes_max),
                                    static_cast<std::uint32_t>(limits::chunk_bytes_max)}))
            .ok());
    CHECK(decode(encode(content_req{1, {}, UINT64_MAX - 10, 20, 1})).error ==
          "CONTENT_REQ: offset + length overflows");
  }
  SECTION("chunk data empty or larger than the chunk limit") {
    CHECK(decode(encode(content_chunk{1, 0, {}, bytes{}})).error == "CONTENT_CHUNK: no data");
    CHECK_FALSE(decode(encode(content_chunk{1, 0, {}, bytes(limits::chunk_bytes_max + 1)})).ok());
    CHECK(decode(encode(content_chunk{1, 0, {}, bytes(limits::chunk_bytes_max)})).ok());
    CHECK_FALSE(decode(encode(content_chunk{1, UINT64_MAX - 1, {}, bytes(4)})).ok());
  }
}

TEST_CASE("filexfer message names cover every type") {
  CHECK(std::string(message_name(1)) == "META_REQ");
  CHECK(std::string(message_name(2)) == "META_OK");
  CHECK(std::string(message_name(3)) == "META_ERR");
  CHECK(std::string(message_name(4)) == "CONTENT_REQ");
  CHECK(std::string(message_name(5)) == "CONTENT_CHUNK");
  CHECK(std::string(message_name(6)) == "CONTENT_END");
  CHECK(std::string(message_name(7)) == "CONTENT_ERR");
  CHECK(std::string(message_name(0)) == "?");
  CHECK(std::string(message_name(200)) == "?");
}

TEST_CASE("filexfer strategy names map to strategies") {
  CHECK(strategy_from_name("corrupt_content") == provider_strategy::corrupt_content);
  CHECK(strategy_from_name("truncate_content") == provider_strategy::truncate_content);
  CHECK(strategy_from_name("silent") == provider_strategy::silent);
  CHECK(strategy_from_name("honest") == provider_strategy::honest);
  CHECK_FALSE(strategy_from_name("Silent").has_value());
  CHECK_FALSE(strategy_from_name("").has_value());
}
