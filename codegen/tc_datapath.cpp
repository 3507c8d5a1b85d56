// The TC object's template inputs.
#include "codegen/tc_datapath.hpp"

#include <fmt/format.h>

#include "codegen/baseline_policy_c.hpp"
#include "codegen/c_layouts.hpp"
#include "codegen/c_maps.hpp"
#include "codegen/datapath_source.hpp"
#include "codegen/map_plan.hpp"
#include "kpr/layout/conntrack.hpp"
#include "kpr/layout/drop_reason.hpp"
#include "kpr/layout/endpoint_policy.hpp"
#include "kpr/layout/nat.hpp"
#include "kpr/layout/node_address.hpp"
#include "kpr/layout/source_range.hpp"

namespace kpr::codegen {
namespace {

std::string nanoseconds(std::uint32_t seconds) {
    return fmt::format("{}000000000ULL", seconds);
}

// The C side of what include/kpr/layout/ declares in C++.
std::string constants(const schema::ClusterSchema& schema) {
    std::string out = "enum kpr_drop_reason {\n";
    for (const auto& r : layout::drop_reasons)
        out += fmt::format("\tKPR_DROP_{} = {}, /* {} */\n", upper(r.name),
                           static_cast<std::uint32_t>(r.reason), r.meaning);
    out += "};\n\n";
    out += fmt::format("#define KPR_CT_NEW {}\n#define KPR_CT_ESTABLISHED {}\n"
                       "#define KPR_CT_CLOSING {}\n#define KPR_CT_REVOKED {}\n"
                       "#define KPR_CT_REPLY_SEEN {}\n",
                       static_cast<int>(layout::ConntrackState::new_connection),
                       static_cast<int>(layout::ConntrackState::established),
                       static_cast<int>(layout::ConntrackState::closing),
                       static_cast<int>(layout::ConntrackState::revoked),
                       layout::conntrack_reply_seen);
    out += fmt::format("#define KPR_ENDPOINT_INGRESS_ENFORCED {}\n"
                       "#define KPR_ENDPOINT_EGRESS_ENFORCED {}\n\n",
                       layout::endpoint_ingress_enforced, layout::endpoint_egress_enforced);
    const auto& t = schema.features.conntrack;
    out += "/* Idle timeouts of tracked connections (spec.features.conntrack). */\n";
    out += fmt::format("#define KPR_CT_TCP_NEW_NS {}\n", nanoseconds(t.tcp_new));
    out += fmt::format("#define KPR_CT_TCP_ESTABLISHED_NS {}\n", nanoseconds(t.tcp_established));
    out += fmt::format("#define KPR_CT_TCP_CLOSING_NS {}\n", nanoseconds(t.tcp_closing));
    out += fmt::format("#define KPR_CT_UDP_NS {}\n", nanoseconds(t.udp));
    out += fmt::format("#define KPR_CT_ICMP_NS {}\n", nanoseconds(t.icmp));
    if (!builds_node_ingress(schema))
        return out;
    const auto& n = schema.features.node_port;
    out += "\n" + service_flag_constants();
    out += fmt::format("\n/* The external path (spec.features.nodePort, backendSelection). */\n"
                       "#define KPR_NAT_FORWARD {}\n#define KPR_NAT_REVERSE {}\n"
                       "#define KPR_SNAT_PORT_FIRST {}\n#define KPR_SNAT_PORT_LAST {}\n"
                       "#define KPR_NODE_ADDRESS_IPV4 {}\n#define KPR_NODE_ADDRESS_IPV6 {}\n"
                       "#define KPR_SOURCE_RANGE_PREFIX_BITS {}\n"
                       "#define KPR_MAGLEV_TABLE_SIZE {}\n",
                       layout::nat_forward, layout::nat_reverse, n.snat_port_first,
                       n.snat_port_last, layout::node_address_ipv4, layout::node_address_ipv6,
                       layout::source_range_prefix_bits,
                       schema.features.backend_selection.maglev_table_size);
    return out;
}

} // namespace

bool has_tc_datapath(const schema::ClusterSchema& schema) {
    return schema.tc_programs.contains(schema::TcProgram::podIngress) ||
           schema.tc_programs.contains(schema::TcProgram::podEgress) ||
           builds_node_ingress(schema);
}

TemplateInputs tc_template_inputs(const schema::ClusterSchema& schema) {
    TemplateInputs in;
    const auto plan = plan_maps(schema, layout::Datapath::tc);
    in.slots["layouts"] = emit_c_layouts(plan);
    in.slots["maps"] = emit_c_maps(plan);
    in.slots["constants"] = constants(schema);
    in.slots["baseline"] = emit_baseline_policy_c(schema);
    add_family_features(schema, in);
    for (auto p : {schema::TcProgram::podIngress, schema::TcProgram::podEgress,
                   schema::TcProgram::nodeIngress}) {
        in.known_features.insert(std::string(to_string(p)));
        if (schema.tc_programs.contains(p))
            in.features.insert(std::string(to_string(p)));
    }
    for (const char* feature : {"maglev", "sessionAffinity"})
        in.known_features.insert(feature);
    if (map_condition_holds(layout::MapCondition::maglev, schema))
        in.features.insert("maglev");
    if (map_condition_holds(layout::MapCondition::session_affinity, schema))
        in.features.insert("sessionAffinity");
    return in;
}

} // namespace kpr::codegen
