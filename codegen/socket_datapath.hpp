// The socket load balancer's object (bpf-templates/bpf_sock.c): its
// blocks chosen by the schema's families and hooks, its slots filled from
// the map plan.
#pragma once

#include <filesystem>
#include <string>

#include "codegen/bpf_template.hpp"
#include "codegen/datapath_source.hpp"
#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

inline constexpr std::string_view socket_datapath_name = "kpr_sock";

TemplateInputs socket_template_inputs(const schema::ClusterSchema& schema);

inline std::string emit_socket_datapath(const schema::ClusterSchema& schema,
                                        const std::filesystem::path& templates_dir) {
    return emit_datapath(schema, templates_dir, layout::Datapath::socket);
}

} // namespace kpr::codegen
