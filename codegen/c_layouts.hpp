// Emits the C definitions of the map layouts, each followed by the
// _Static_asserts that make the BPF compiler itself check every size and
// offset against the C++ declaration.
#pragma once

#include <string>
#include <vector>

#include "codegen/map_plan.hpp"

namespace kpr::codegen {

std::string emit_c_layout(const layout::LayoutDescription& layout);

// Every distinct key and value layout of the plan, in plan order.
std::string emit_c_layouts(const std::vector<PlannedMap>& plan);

} // namespace kpr::codegen
