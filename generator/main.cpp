// kpr-gen: builds a cluster's data path from its schema.
//   kpr-gen build --schema cluster.yaml --out-dir DIR   writes DIR/kpr_sock.bpf.c and .bpf.o
//   kpr-gen emit  --schema cluster.yaml                 prints the specialised source
// Nothing is written unless everything succeeded: outputs go to temporary
// names and are renamed into place at the end.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "codegen/bpf_compiler.hpp"
#include "codegen/bpf_template.hpp"
#include "codegen/socket_datapath.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace fs = std::filesystem;

namespace {

struct Options {
    fs::path schema;
    fs::path out_dir;
    fs::path templates = KPR_TEMPLATES_DIR;
    fs::path clang = KPR_BPF_CLANG;
    fs::path multiarch_include = KPR_MULTIARCH_INCLUDE;
};

kpr::schema::ClusterSchema load_schema_or_exit(const fs::path& path) {
    auto result = kpr::schema::load_cluster_schema(path);
    for (const auto& e : result.errors)
        fmt::print(stderr, "{}\n", e.str());
    if (!result.schema) {
        fmt::print(stderr, "kpr-gen: {} has {} problem{}; nothing was written\n", path.string(),
                   result.errors.size(), result.errors.size() == 1 ? "" : "s");
        std::exit(1);
    }
    return std::move(*result.schema);
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

int build(const Options& o) {
    const auto schema = load_schema_or_exit(o.schema);
    const auto source = kpr::codegen::emit_socket_datapath(schema, o.templates);
    fs::create_directories(o.out_dir);
    const std::string base(kpr::codegen::socket_datapath_name);
    const auto c_path = o.out_dir / (base + ".bpf.c");
    const auto o_path = o.out_dir / (base + ".bpf.o");
    // The temporary source keeps the final name's directory, so the object's
    // debug info is the same as if it had been compiled in place.
    const auto c_tmp = o.out_dir / (".tmp." + base + ".bpf.c");
    const auto o_tmp = o.out_dir / (".tmp." + base + ".bpf.o");
    try {
        write_file(c_tmp, source);
        kpr::codegen::compile_bpf_object({o.clang, o.templates, o.multiarch_include}, c_tmp, o_tmp);
    } catch (...) {
        fs::remove(c_tmp);
        fs::remove(o_tmp);
        throw;
    }
    fs::rename(c_tmp, c_path);
    fs::rename(o_tmp, o_path);
    fmt::print("kpr-gen: wrote {} and {}\n", c_path.string(), o_path.string());
    return 0;
}

int emit(const Options& o) {
    const auto schema = load_schema_or_exit(o.schema);
    fmt::print("{}", kpr::codegen::emit_socket_datapath(schema, o.templates));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"kpr-gen: builds a cluster's BPF data path from its cluster schema"};
    app.require_subcommand(1);
    Options o;
    const auto common = [&](CLI::App* cmd) {
        cmd->add_option("--schema", o.schema, "the cluster schema (YAML)")->required()->check(CLI::ExistingFile);
        cmd->add_option("--templates", o.templates, "the bpf-templates directory")
            ->capture_default_str()
            ->check(CLI::ExistingDirectory);
    };
    auto* build_cmd = app.add_subcommand("build", "write the specialised BPF source and compile it");
    common(build_cmd);
    build_cmd->add_option("--out-dir", o.out_dir, "where to write kpr_sock.bpf.c and kpr_sock.bpf.o")->required();
    build_cmd->add_option("--clang", o.clang, "the clang that compiles BPF")->capture_default_str();
    auto* emit_cmd = app.add_subcommand("emit", "print the specialised BPF source");
    common(emit_cmd);
    CLI11_PARSE(app, argc, argv);

    try {
        return build_cmd->parsed() ? build(o) : emit(o);
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-gen: {}\n", e.what());
        return 1;
    }
}
