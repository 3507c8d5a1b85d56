// `kpr-gen explain`: what a schema's data path is made of and why — each
// map with its kind, entry sizes, capacity, the schema field that sized it
// and an estimate of the kernel memory it takes; each program with its
// hook and instruction count; and what the schema asks for that is not
// built yet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/datapath_build.hpp"
#include "codegen/map_plan.hpp"

namespace kpr::codegen {

// Kernel memory of a map, estimated as the kernel allocates it: for a
// preallocated (LRU) hash map, per element a 48-byte header plus key and
// value rounded up to 8 bytes, and 16 bytes per bucket (capacity rounded up
// to a power of two); for an LPM trie, a node per entry when full (it
// allocates as entries arrive); for a per-CPU array, the bytes of one CPU.
std::uint64_t estimated_map_bytes(const PlannedMap& map);

std::string explain_datapath(const schema::ClusterSchema& schema,
                             const std::vector<DatapathBuild>& builds);

} // namespace kpr::codegen
