// The schema sections today's data path does not consume, when set.
#include "codegen/schema_coverage.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "codegen/map_plan.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr::codegen {

std::vector<std::string> unbuilt_requests(const schema::ClusterSchema& schema) {
    std::vector<std::string> out;
    if (!schema.tc_programs.empty()) {
        std::vector<std::string_view> names;
        for (auto p : schema.tc_programs)
            names.push_back(to_string(p));
        out.push_back(fmt::format("spec.tcPrograms ({}): no TC program is built yet",
                                  fmt::join(names, ", ")));
    }
    std::set<std::string_view> sized;
    for (auto datapath : built_datapaths(schema))
        for (const auto& map : plan_maps(schema, datapath))
            sized.insert(map.capacity_name);
    for (const auto& d : schema::map_defaults)
        if (!sized.contains(d.name) && schema.capacity(d.name) != d.capacity)
            out.push_back(fmt::format("spec.maps.{}.capacity ({}): no {} map is built yet", d.name,
                                      schema.capacity(d.name), d.name));
    const auto& f = schema.features;
    if (f.session_affinity.enabled)
        out.push_back("spec.features.sessionAffinity: ClientIP affinity is not built yet (every "
                      "connection picks a "
                      "backend anew)");
    if (f.backend_selection.algorithm != schema::BackendSelection::random)
        out.push_back(fmt::format(
            "spec.features.backendSelection ({}): not built yet; backends are chosen at random",
            to_string(f.backend_selection.algorithm)));
    if (f.conntrack != schema::ConntrackTimeouts{})
        out.push_back("spec.features.conntrack: no connection tracking is built yet");
    if (schema.identity != schema::IdentitySchema{})
        out.push_back("spec.identity: no identity-aware program is built yet");
    if (!schema.baseline_policy.rules.empty())
        out.push_back(fmt::format(
            "spec.baselinePolicy ({} rules): no policy is enforced yet (the TC programs will)",
            schema.baseline_policy.rules.size()));
    return out;
}

} // namespace kpr::codegen
