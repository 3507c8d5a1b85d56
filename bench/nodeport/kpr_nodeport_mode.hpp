// kpr as a mode of the NodePort benchmark: its external path
// (kpr_from_netdev) carries node:NodePort to the backends.
#pragma once

#include <filesystem>
#include <memory>

#include "mode.hpp"

namespace kpr::bench {

// tc_object: a TC object built with nodeIngress (nodeport-tc.yaml).
std::unique_ptr<Mode> make_kpr_nodeport_mode(ModeSettings settings, const std::filesystem::path& tc_object);

} // namespace kpr::bench
