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

std::vector<PlannedMap> plan_maps(const schema::ClusterSchema& schema, layout::Datapath datapath) {
    std::vector<PlannedMap> plan;
    boost::hana::for_each(layout::all_maps, [&](const auto& spec) {
        using Spec = std::remove_cvref_t<decltype(spec)>;
        if (spec.datapath != datapath || (spec.family && !schema.has(*spec.family)))
            return;
        if (spec.name == layout::identity_matches.name && !baseline_uses_idmatch(schema))
            return;
        const auto& c = spec.capacity;
        plan.push_back(PlannedMap{
            spec.name, spec.type, spec.family, c.schema_name,
            c.schema_name.empty() ? c.fixed : schema.capacity(c.schema_name),
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
