// Emits the BTF-defined BPF map declarations of a plan: type, capacity,
// key and value struct, pinned by name so the agent and every program
// object of one node share them.
#pragma once

#include <string>
#include <vector>

#include "codegen/map_plan.hpp"

namespace kpr::codegen {

std::string emit_c_maps(const std::vector<PlannedMap>& plan);

} // namespace kpr::codegen
