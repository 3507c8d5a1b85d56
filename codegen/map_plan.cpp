// Selects and sizes the maps of layout/maps.hpp for one cluster schema.
#include "codegen/map_plan.hpp"

#include <boost/hana/for_each.hpp>

namespace kpr::codegen {

std::vector<PlannedMap> plan_maps(const schema::ClusterSchema& schema) {
    std::vector<PlannedMap> plan;
    boost::hana::for_each(layout::all_maps, [&](const auto& spec) {
        using Spec = std::remove_cvref_t<decltype(spec)>;
        if (!schema.has(spec.family))
            return;
        plan.push_back(PlannedMap{spec.name, spec.type, schema.capacity(spec.capacity),
                                  layout::describe<typename Spec::key_type>(),
                                  layout::describe<typename Spec::value_type>()});
    });
    return plan;
}

} // namespace kpr::codegen
