// One cluster's data path, built: for each program object the schema calls
// for (layout::Datapath: the socket object always, the TC object with pod
// TC programs), the specialised source, its object (compiled in-process,
// every map struct cross-checked) and its build manifest — all written
// under temporary names and renamed into place only when every object
// succeeded, so a failed build leaves the output directory as it was.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "codegen/bpf_compiler.hpp"
#include "kpr/layout/maps.hpp"
#include "kpr/manifest/build_manifest.hpp"
#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

struct BuildRequest {
    const schema::ClusterSchema& schema;
    std::string schema_text; // the schema file's bytes, hashed into the manifest
    std::filesystem::path templates_dir;
    CompilerSettings compiler;
    std::filesystem::path out_dir;
};

// One program object's files.
struct DatapathBuild {
    layout::Datapath datapath;
    std::filesystem::path source;   // <out>/kpr_sock.bpf.c, <out>/kpr_tc.bpf.c
    std::filesystem::path object;   // <out>/kpr_sock.bpf.o
    std::filesystem::path manifest; // <out>/kpr_sock.manifest.json
    manifest::BuildManifest contents;
};

// Every object, in built_datapaths() order (the socket object first).
// Throws CompileError (or TemplateError, std::filesystem::filesystem_error).
std::vector<DatapathBuild> build_datapath(const BuildRequest& request);

} // namespace kpr::codegen
