// The maps one cluster's program objects get: for each object kpr-gen
// builds for the schema, the entries of layout/maps.hpp it declares (or,
// for the TC object with nodeIngress, reads through the socket object's
// pins) whose address family and condition the schema enables, each with
// its capacity and its key and value layouts as data. The C emitters work
// from this plan.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kpr/layout/maps.hpp"
#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

struct PlannedMap {
    std::string_view name;
    layout::MapType type;
    std::optional<net::Family> family; // empty: both
    std::string_view capacity_name;    // spec.maps.<capacity_name>.capacity; "" when fixed
    std::uint32_t capacity;
    layout::LayoutDescription key;
    layout::LayoutDescription value;
};

// The program objects kpr-gen builds for the schema, in build order.
std::vector<layout::Datapath> built_datapaths(const schema::ClusterSchema& schema);

// Whether the TC object builds kpr_from_netdev, the external path.
bool builds_node_ingress(const schema::ClusterSchema& schema);

// Whether the schema meets a map's condition (layout::MapCondition).
bool map_condition_holds(layout::MapCondition condition, const schema::ClusterSchema& schema);

std::vector<PlannedMap> plan_maps(const schema::ClusterSchema& schema, layout::Datapath datapath);

// Every distinct key and value layout of the plan, in plan order: the
// structs the emitted source defines.
std::vector<layout::LayoutDescription> planned_layouts(const std::vector<PlannedMap>& plan);

} // namespace kpr::codegen
