// Selects and sizes the maps of layout/maps.hpp for one cluster schema.
#include "codegen/map_plan.hpp"

#include <algorithm>

#include <boost/hana/for_each.hpp>

#include "codegen/baseline_policy_c.hpp"
#include "codegen/tc_datapath.hpp"

namespace kpr::codegen {

std::vector<layout::Datapath> built_datapaths(const schema::ClusterSchema& schema) {
    if (has_tc_datapath(schema))
        return {layout::Datapath::socket, layout::Datapath::tc};
    return {layout::Datapath::socket};
}

bool builds_node_ingress(const schema::ClusterSchema& schema) {
    return schema.tc_programs.contains(schema::TcProgram::nodeIngress);
}

bool map_condition_holds(layout::MapCondition condition, const schema::ClusterSchema& schema) {
    switch (condition) {
    case layout::MapCondition::always:
        return true;
    case layout::MapCondition::baseline_label_matches:
        return baseline_uses_idmatch(schema);
    case layout::MapCondition::node_ingress:
        return builds_node_ingress(schema);
    case layout::MapCondition::maglev:
        return builds_node_ingress(schema) &&
               schema.features.backend_selection.algorithm == schema::BackendSelection::maglev;
    case layout::MapCondition::session_affinity:
        return schema.features.session_affinity.enabled;
    case layout::MapCondition::bind_hook:
        return schema.has(schema::SocketHook::bind);
    }
    return false;
}

std::vector<PlannedMap> plan_maps(const schema::ClusterSchema& schema, layout::Datapath datapath) {
    std::vector<PlannedMap> plan;
    boost::hana::for_each(layout::all_maps, [&](const auto& spec) {
        using Spec = std::remove_cvref_t<decltype(spec)>;
        const bool declared_here =
            spec.datapath == datapath ||
            (datapath == layout::Datapath::tc && spec.read_by_node_ingress &&
             builds_node_ingress(schema));
        if (!declared_here || (spec.family && !schema.has(*spec.family)) ||
            !map_condition_holds(spec.condition, schema))
            return;
        const auto& c = spec.capacity;
        std::uint32_t capacity = c.schema_name.empty() ? c.fixed : schema.capacity(c.schema_name);
        if (c.per_maglev_slot)
            capacity *= schema.features.backend_selection.maglev_table_size;
        plan.push_back(PlannedMap{spec.name, spec.type, spec.family, c.schema_name, capacity,
                                  layout::describe<typename Spec::key_type>(),
                                  layout::describe<typename Spec::value_type>()});
    });
    return plan;
}

std::vector<layout::LayoutDescription> planned_layouts(const std::vector<PlannedMap>& plan) {
    std::vector<layout::LayoutDescription> out;
    for (const auto& map : plan)
        for (const auto* layout : {&map.key, &map.value})
            if (std::none_of(out.begin(), out.end(),
                             [&](const auto& l) { return l.c_name == layout->c_name; }))
                out.push_back(*layout);
    return out;
}

} // namespace kpr::codegen
