// Assembles the socket load balancer's BPF source for one cluster: the
// template bpf-templates/bpf_sock.c with its slots filled from the map plan
// and its blocks chosen by the schema's families and hooks.
#pragma once

#include <filesystem>
#include <string>

#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

inline constexpr std::string_view socket_datapath_name = "kpr_sock";

std::string emit_socket_datapath(const schema::ClusterSchema& schema,
                                 const std::filesystem::path& templates_dir);

} // namespace kpr::codegen
