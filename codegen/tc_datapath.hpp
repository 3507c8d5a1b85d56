// The TC object (bpf-templates/bpf_lxc.c), built when the schema asks for
// podIngress, podEgress or nodeIngress: its slots filled with the map plan,
// the constants the C side shares with kpr's C++ declarations (drop
// reasons, conntrack states, endpoint flags, service flags) and the
// schema's conntrack timeouts and external-path settings, and the baseline
// rules.
#pragma once

#include <string_view>

#include "codegen/bpf_template.hpp"
#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

inline constexpr std::string_view tc_datapath_name = "kpr_tc";

// Whether the schema gets a TC object.
bool has_tc_datapath(const schema::ClusterSchema& schema);

TemplateInputs tc_template_inputs(const schema::ClusterSchema& schema);

} // namespace kpr::codegen
