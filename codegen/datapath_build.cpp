// Emit, compile, describe each object, then publish all files together.
#include "codegen/datapath_build.hpp"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "codegen/datapath_source.hpp"
#include "codegen/map_plan.hpp"
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

// Temporary files and where each goes once every object is built; removed
// unless they were published.
struct PendingFiles {
    std::vector<std::pair<fs::path, fs::path>> moves; // temporary, final
    ~PendingFiles() {
        std::error_code ignored;
        for (const auto& [temporary, final] : moves)
            fs::remove(temporary, ignored);
    }
    fs::path add(const fs::path& final) {
        auto temporary = final.parent_path() /
                         fmt::format(".tmp.{}.{}", ::getpid(), final.filename().string());
        moves.emplace_back(temporary, final);
        return temporary;
    }
    void publish() {
        for (const auto& [temporary, final] : moves)
            fs::rename(temporary, final);
        moves.clear();
    }
};

DatapathBuild build_object(const BuildRequest& r, layout::Datapath datapath,
                           PendingFiles& pending) {
    const auto plan = plan_maps(r.schema, datapath);
    auto source = emit_datapath_source(r.schema, r.templates_dir, datapath);
    const std::string base(object_name(datapath));
    DatapathBuild built{datapath, r.out_dir / (base + ".bpf.c"), r.out_dir / (base + ".bpf.o"),
                        {}, {}};
    built.manifest = manifest::manifest_path_for(built.object);
    const auto source_tmp = pending.add(built.source);
    const auto object_tmp = pending.add(built.object);
    const auto manifest_tmp = pending.add(built.manifest);

    // Compiled from memory under its final name, so diagnostics and debug
    // info name the file the user will find.
    compile_bpf_object(
        r.compiler,
        {source.text, built.source, planned_layouts(plan), std::move(source.line_origins)},
        object_tmp);
    auto& m = built.contents;
    m.schema_name = r.schema.name;
    m.schema_hash = manifest::content_hash(r.schema_text);
    m.object_file = built.object.filename().string();
    m.object_hash = manifest::content_hash(read_file_contents(object_tmp).value());
    for (const auto& map : plan)
        m.maps.push_back({std::string(map.name), std::string(layout::c_map_type(map.type)),
                          map.capacity, std::string(map.key.c_name), std::string(map.value.c_name),
                          manifest::map_layout_hash(map.type, map.key, map.value)});
    m.programs = programs_of(object_tmp);
    const auto& f = r.schema.features;
    m.backend_selection = f.backend_selection.algorithm;
    m.maglev_table_size = f.backend_selection.maglev_table_size;
    m.maglev_tables = r.schema.capacity("maglevTables");
    m.snat_port_first = f.node_port.snat_port_first;
    m.snat_port_last = f.node_port.snat_port_last;
    m.session_affinity = f.session_affinity.enabled;
    if (datapath == layout::Datapath::tc) {
        m.identity = policy::identity_config(r.schema.identity);
        m.baseline_label_matches = schema::baseline_label_matches(r.schema.baseline_policy);
    }
    write_file(source_tmp, source.text);
    write_file(manifest_tmp, manifest::to_json(m));
    return built;
}

} // namespace

std::vector<DatapathBuild> build_datapath(const BuildRequest& r) {
    fs::create_directories(r.out_dir);
    PendingFiles pending;
    std::vector<DatapathBuild> built;
    for (auto datapath : built_datapaths(r.schema))
        built.push_back(build_object(r, datapath, pending));
    pending.publish();
    return built;
}

} // namespace kpr::codegen
