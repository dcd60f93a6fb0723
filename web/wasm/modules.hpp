#pragma once
// The protocol modules a WebAssembly build hosts. scripts/build_wasm.sh
// generates the definition from its PROTOCOLS list (one line per protocol),
// so the wasm build never links protocols/registry.cpp and every protocol.
#include "protocols/common/module.hpp"

#include <vector>

namespace peerlab::wasm {

std::vector<const module*> hosted_modules();

} // namespace peerlab::wasm
