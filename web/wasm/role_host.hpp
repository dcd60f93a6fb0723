#pragma once
// What protocol-specific exports (web/wasm/<protocol>/*.cpp, built with that
// protocol) need from the role host (role_host.cpp): the hosted role, and a
// way to run a typed command on it exactly as host_command runs a text one.
#include "protocols/common/role.hpp"

#include <functional>
#include <string_view>

namespace peerlab::wasm {

/// The hosted role; nullptr before a successful host_create or after the
/// role threw.
role* hosted_role();

/// Runs the command `make(id)` builds (the host numbers it like a text
/// command) on the hosted role at `now_us` and encodes its effects; 0 ok,
/// 1 error (the text in the result buffer).
int run_typed_command(double now_us, const std::function<command(std::uint64_t id)>& make);

/// Leaves `json_text` as the result of a call that ran no role input; 0.
int set_result(std::string_view json_text);
/// Leaves the error `why` as the result; 1.
int set_error(std::string_view why);

} // namespace peerlab::wasm
