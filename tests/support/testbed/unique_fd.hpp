// The test bed and the probe programs own descriptors the way the runtime
// does; the probes include only this header-only part of kpr.
#pragma once

#include "kpr/runtime/unique_fd.hpp"

namespace kpr::testbed {
using runtime::UniqueFd;
} // namespace kpr::testbed
