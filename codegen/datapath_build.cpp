// Emit, compile, describe, then publish the three files together.
#include "codegen/datapath_build.hpp"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "codegen/map_plan.hpp"
#include "codegen/socket_datapath.hpp"
#include "kpr/file_contents.hpp"
#include "kpr/manifest/content_hash.hpp"
#include "kpr/manifest/layout_hash.hpp"
#include "kpr/policy/identity_schema_config.hpp"

namespace kpr::codegen {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush())
        throw CompileError(fmt::format("cannot write {}", path.string()));
}

std::vector<manifest::ManifestProgram> programs_of(const fs::path& object) {
    std::unique_ptr<bpf_object, decltype(&bpf_object__close)> o(
        bpf_object__open_file(object.c_str(), nullptr), &bpf_object__close);
    if (!o)
        throw CompileError(
            fmt::format("libbpf cannot open the object just compiled, {}", object.string()));
    std::vector<manifest::ManifestProgram> out;
    bpf_program* p;
    bpf_object__for_each_program(p, o.get()) {
        out.push_back({bpf_program__name(p), bpf_program__section_name(p),
                       static_cast<std::uint32_t>(bpf_program__insn_cnt(p))});
    }
    return out;
}

// Removes the temporary files unless they were published.
struct TemporaryFiles {
    std::vector<fs::path> paths;
    ~TemporaryFiles() {
        std::error_code ignored;
        for (const auto& p : paths)
            fs::remove(p, ignored);
    }
};

} // namespace

DatapathBuild build_datapath(const BuildRequest& r) {
    const auto plan = plan_maps(r.schema, layout::Datapath::socket);
    auto source = emit_socket_datapath_source(r.schema, r.templates_dir);
    fs::create_directories(r.out_dir);
    const std::string base(socket_datapath_name);
    DatapathBuild built{r.out_dir / (base + ".bpf.c"), r.out_dir / (base + ".bpf.o"), {}, {}};
    built.manifest = manifest::manifest_path_for(built.object);
    const auto temporary = [&](const fs::path& final) {
        return r.out_dir / fmt::format(".tmp.{}.{}", ::getpid(), final.filename().string());
    };
    TemporaryFiles tmp{
        {temporary(built.source), temporary(built.object), temporary(built.manifest)}};

    // Compiled from memory under its final name, so diagnostics and debug
    // info name the file the user will find.
    compile_bpf_object(
        r.compiler,
        {source.text, built.source, planned_layouts(plan), std::move(source.line_origins)},
        tmp.paths[1]);
    auto& m = built.contents;
    m.schema_name = r.schema.name;
    m.schema_hash = manifest::content_hash(r.schema_text);
    m.object_file = built.object.filename().string();
    m.object_hash = manifest::content_hash(read_file_contents(tmp.paths[1]).value());
    for (const auto& map : plan)
        m.maps.push_back({std::string(map.name), std::string(layout::c_map_type(map.type)),
                          map.capacity, std::string(map.key.c_name), std::string(map.value.c_name),
                          manifest::map_layout_hash(map.type, map.key, map.value)});
    m.programs = programs_of(tmp.paths[1]);
    if (r.schema.tc_programs.contains(schema::TcProgram::podIngress) ||
        r.schema.tc_programs.contains(schema::TcProgram::podEgress)) {
        m.identity = policy::identity_config(r.schema.identity);
        m.baseline_label_matches = schema::baseline_label_matches(r.schema.baseline_policy);
    }
    write_file(tmp.paths[0], source.text);
    write_file(tmp.paths[2], manifest::to_json(m));

    fs::rename(tmp.paths[0], built.source);
    fs::rename(tmp.paths[1], built.object);
    fs::rename(tmp.paths[2], built.manifest);
    tmp.paths.clear();
    return built;
}

} // namespace kpr::codegen
