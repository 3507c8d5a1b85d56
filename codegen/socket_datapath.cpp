// The socket object's template inputs.
#include "codegen/socket_datapath.hpp"

#include "codegen/c_layouts.hpp"
#include "codegen/c_maps.hpp"
#include "codegen/map_plan.hpp"

namespace kpr::codegen {

TemplateInputs socket_template_inputs(const schema::ClusterSchema& schema) {
    TemplateInputs in;
    const auto plan = plan_maps(schema, layout::Datapath::socket);
    in.slots["layouts"] = emit_c_layouts(plan);
    in.slots["maps"] = emit_c_maps(plan);
    in.slots["constants"] = service_flag_constants();
    add_family_features(schema, in);
    for (auto h : schema::all_socket_hooks) {
        in.known_features.insert(std::string(to_string(h)));
        if (schema.has(h))
            in.features.insert(std::string(to_string(h)));
    }
    in.known_features.insert("sessionAffinity");
    if (schema.features.session_affinity.enabled)
        in.features.insert("sessionAffinity");
    return in;
}

} // namespace kpr::codegen
