// A program object's BPF source for one cluster: its template under
// bpf-templates/ with the slots and @kpr:if blocks filled from the schema
// (the socket object: socket_datapath.hpp; the TC object: tc_datapath.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/bpf_template.hpp"
#include "kpr/layout/maps.hpp"
#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

struct EmittedSource {
    std::string text;
    // Per line of text, where it came from ("bpf-templates/bpf_sock.c:28",
    // "@kpr:slot maps at ..."; "" for kpr-gen's own header), so compile
    // diagnostics can point at the template line to change.
    std::vector<std::string> line_origins;
};

// The features "ipv4" and "ipv6" every template knows, enabled by the
// schema's families.
void add_family_features(const schema::ClusterSchema& schema, TemplateInputs& inputs);

// The C macros of layout::service_flags (KPR_SVC_EXTERNAL, ...), which both
// objects read in slot 0 of kpr_svc4/6.
std::string service_flag_constants();

// The name in capitals, as C macros and enumerators spell it.
std::string upper(std::string_view name);

// "kpr_sock", "kpr_tc": the base of the object's file names.
std::string_view object_name(layout::Datapath datapath);

EmittedSource emit_datapath_source(const schema::ClusterSchema& schema,
                                   const std::filesystem::path& templates_dir,
                                   layout::Datapath datapath);

inline std::string emit_datapath(const schema::ClusterSchema& schema,
                                 const std::filesystem::path& templates_dir,
                                 layout::Datapath datapath) {
    return emit_datapath_source(schema, templates_dir, datapath).text;
}

} // namespace kpr::codegen
