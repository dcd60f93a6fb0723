#pragma once
// The market tests use the shared test kit (tests/kit/lockstep_network.hpp).
#include "tests/kit/lockstep_network.hpp"

namespace mkt {

using namespace peerlab;
using namespace peerlab::test_kit;

} // namespace mkt
