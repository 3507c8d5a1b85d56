// Assembles the socket load balancer's BPF source for one cluster: the
// template bpf-templates/bpf_sock.c with its slots filled from the map plan
// and its blocks chosen by the schema's families and hooks.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

inline constexpr std::string_view socket_datapath_name = "kpr_sock";

struct EmittedSource {
    std::string text;
    // Per line of text, where it came from ("bpf-templates/bpf_sock.c:28",
    // "@kpr:slot maps at ..."; "" for kpr-gen's own header), so compile
    // diagnostics can point at the template line to change.
    std::vector<std::string> line_origins;
};

EmittedSource emit_socket_datapath_source(const schema::ClusterSchema& schema,
                                          const std::filesystem::path& templates_dir);

inline std::string emit_socket_datapath(const schema::ClusterSchema& schema,
                                        const std::filesystem::path& templates_dir) {
    return emit_socket_datapath_source(schema, templates_dir).text;
}

} // namespace kpr::codegen
