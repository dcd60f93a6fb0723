#pragma once
// What one call into the wasm role host produced, as one byte buffer that the
// JS side (web/host.js) decodes after the call. Layout (docs/wasm.md), every
// integer little-endian u32, 64-bit values as (low, high) pairs:
//   header  version=1, status (0 ok, 1 error), command id lo, hi,
//           frames, timers, JSON bytes, error bytes
//   frames  each: peer lo, hi, length, then the frame's bytes
//   timers  each: delay_us lo, hi (signed 64-bit), token lo, hi
//   JSON    {"events": [...], "metrics": [...], "addresses": [...]}, only the
//           non-empty lists; no bytes at all when all are empty (calls that
//           run no role input put their own object here: encode_result)
//   error   UTF-8 text when status is 1
#include "protocols/common/role.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace peerlab::wasm {

constexpr std::uint32_t effects_version = 1;

struct effects_options {
  bool metrics = false; // metrics cost a JSON entry each: off unless asked for
};

/// Encodes `fx` (status 0) into `out`, replacing what it held.
void encode_effects(const effects& fx, std::uint64_t command_id, const effects_options& opt,
                    std::vector<std::uint8_t>& out);
/// Encodes a call that ran no role input: status 0, no frames or timers, and
/// `json_text` in the JSON slot.
void encode_result(std::string_view json_text, std::vector<std::uint8_t>& out);
/// Encodes a failed call: status 1, no effects, the error text.
void encode_error(std::string_view error, std::vector<std::uint8_t>& out);

/// One event as JSON text: {"event", "command_id" (decimal text), "fields",
/// "values", and "rows" (objects by column name) when the event lists rows}.
std::string event_json(const event& e);

} // namespace peerlab::wasm
