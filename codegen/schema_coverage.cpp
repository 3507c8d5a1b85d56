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
    if (schema.tc_programs.contains(schema::TcProgram::nodeEgress))
        out.push_back("spec.tcPrograms (nodeEgress): not built; the external path needs no "
                      "program on an interface's egress (docs/datapath-nodeport.md)");
    std::set<std::string_view> sized;
    for (auto datapath : built_datapaths(schema))
        for (const auto& map : plan_maps(schema, datapath))
            sized.insert(map.capacity_name);
    for (const auto& d : schema::map_defaults)
        if (!sized.contains(d.name) && schema.capacity(d.name) != d.capacity)
            out.push_back(fmt::format("spec.maps.{}.capacity ({}): no {} map is built yet", d.name,
                                      schema.capacity(d.name), d.name));
    const auto& f = schema.features;
    if (f.backend_selection.algorithm != schema::BackendSelection::random &&
        !map_condition_holds(layout::MapCondition::maglev, schema))
        out.push_back(fmt::format(
            "spec.features.backendSelection ({}): used by the external path (nodeIngress), "
            "which the schema does not build; the socket path chooses at random",
            to_string(f.backend_selection.algorithm)));
    if (f.node_port != schema::NodePortSettings{} && !builds_node_ingress(schema))
        out.push_back("spec.features.nodePort: SNAT ports are allocated by the external path, "
                      "and spec.tcPrograms has no nodeIngress");
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
