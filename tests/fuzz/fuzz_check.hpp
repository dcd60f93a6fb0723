#pragma once
// Shared helpers of the libFuzzer targets (docs/sanitizers.md). A broken
// contract prints what broke and aborts, which libFuzzer reports as a crash
// and saves the input that caused it.
#include "protocols/common/types.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace peerlab::fuzz {

[[noreturn]] inline void broken(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz contract broken: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

inline void require(bool holds, const char* what, const std::string& detail = {}) {
  if (!holds)
    broken(what, detail);
}

inline byte_view view(const std::uint8_t* data, std::size_t size) { return byte_view{data, size}; }

/// A decoder's error must say something, and say it in text a log can hold.
inline void require_error_text(const std::string& error) {
  require(!error.empty(), "a refused input has an empty error");
  require(error.size() < 4096, "an error message is longer than 4 KiB", error.substr(0, 200));
}

/// A codec that calls itself strict: what it accepts re-encodes to the same bytes.
inline void require_same_bytes(byte_view in, const bytes& again, const char* codec) {
  require(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()), codec,
          "accepted input does not re-encode to the same bytes");
}

} // namespace peerlab::fuzz
