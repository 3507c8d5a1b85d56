// One cluster's data path, built: the specialised source, its object
// (compiled in-process, every map struct cross-checked) and the build
// manifest, written under temporary names and renamed into place only when
// all three succeeded — a failed build leaves the output directory as it was.
#pragma once

#include <filesystem>
#include <string>

#include "codegen/bpf_compiler.hpp"
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

struct DatapathBuild {
    std::filesystem::path source;   // <out>/kpr_sock.bpf.c
    std::filesystem::path object;   // <out>/kpr_sock.bpf.o
    std::filesystem::path manifest; // <out>/kpr_sock.manifest.json
    manifest::BuildManifest contents;
};

// Throws CompileError (or TemplateError, std::filesystem::filesystem_error).
DatapathBuild build_datapath(const BuildRequest& request);

} // namespace kpr::codegen
