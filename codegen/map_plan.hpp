// The maps one cluster's data path gets: the entries of layout/maps.hpp
// whose address family the schema enables, each with its capacity and its
// key and value layouts as data. Both C emitters work from this plan.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "kpr/layout/maps.hpp"
#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

struct PlannedMap {
    std::string_view name;
    layout::MapType type;
    net::Family family;
    std::string_view capacity_name; // spec.maps.<capacity_name>.capacity
    std::uint32_t capacity;
    layout::LayoutDescription key;
    layout::LayoutDescription value;
};

std::vector<PlannedMap> plan_maps(const schema::ClusterSchema& schema);

// Every distinct key and value layout of the plan, in plan order: the
// structs the emitted source defines.
std::vector<layout::LayoutDescription> planned_layouts(const std::vector<PlannedMap>& plan);

} // namespace kpr::codegen
