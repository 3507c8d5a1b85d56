// The schema sections today's data path does not consume, when set.
#include "codegen/schema_coverage.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "codegen/map_plan.hpp"
#include "codegen/tc_datapath.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr::codegen {

std::vector<std::string> unbuilt_requests(const schema::ClusterSchema& schema) {
    std::vector<std::string> out;
    std::vector<std::string_view> node_programs;
    for (auto p : {schema::TcProgram::nodeIngress, schema::TcProgram::nodeEgress})
        if (schema.tc_programs.contains(p))
            node_programs.push_back(to_string(p));
    if (!node_programs.empty())
        out.push_back(fmt::format("spec.tcPrograms ({}): the node's TC programs are not built yet",
                                  fmt::join(node_programs, ", ")));
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
    const bool tc = has_tc_datapath(schema);
    if (!tc && f.conntrack != schema::ConntrackTimeouts{})
        out.push_back("spec.features.conntrack: connections are tracked by the pod TC programs, "
                      "and spec.tcPrograms has neither podIngress nor podEgress");
    if (!tc && schema.identity != schema::IdentitySchema{})
        out.push_back("spec.identity: identities are used by the pod TC programs, and "
                      "spec.tcPrograms has neither podIngress nor podEgress");
    return out;
}

} // namespace kpr::codegen
