// The layout checks on both sides of a map: the agent's BTF check accepts the
// object kpr-gen built and refuses one whose struct differs from kpr's
// layout, naming the map, struct and field; the emitted _Static_asserts
// stop such a struct at BPF compile time already; and kpr-gen's in-process
// cross-check of clang's record layouts catches even an alteration the
// asserts cannot see, at the struct's line in the emitted file.
#include <bpf/libbpf.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "codegen/bpf_compiler.hpp"
#include "codegen/map_plan.hpp"
#include "codegen/socket_datapath.hpp"
#include "kpr/runtime/btf_layout_check.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;

struct ObjectCloser {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

ObjectPtr open_object(const fs::path& path) {
    ObjectPtr o(bpf_object__open_file(path.c_str(), nullptr));
    EXPECT_TRUE(o) << "cannot open " << path;
    return o;
}

struct TempDir {
    fs::path path = fs::temp_directory_path() / fmt::format("kpr-btf-test-{}", ::getpid());
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

// The example data path's source with struct kpr_service4_key's first two
// fields swapped, as a stale or hand-edited object would have it.
std::string source_with_swapped_fields(bool keep_static_asserts) {
    const auto schema = schema::load_cluster_schema(KPR_EXAMPLE_SCHEMA).schema.value();
    auto text = codegen::emit_socket_datapath(schema, KPR_TEMPLATES_DIR);
    const std::string original = "struct kpr_service4_key {\n\t__be32 address;\n\t__be16 port;\n";
    const std::string swapped = "struct kpr_service4_key {\n\t__be16 port;\n\t__be32 address;\n";
    const auto at = text.find(original);
    EXPECT_NE(at, std::string::npos);
    text.replace(at, original.size(), swapped);
    if (!keep_static_asserts)
        text = std::regex_replace(
            text, std::regex("_Static_assert\\([^\n]*kpr_service4_key[^\n]*\n"), "");
    return text;
}

// Compiles with the cross-check of `layouts` (none: as a stale object's
// build, which checked nothing, would have).
void compile(const std::string& source, const fs::path& dir,
             std::vector<layout::LayoutDescription> layouts = {}) {
    codegen::compile_bpf_object({KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
                                {source, dir / "kpr_sock.bpf.c", std::move(layouts), {}},
                                dir / "kpr_sock.bpf.o");
}

std::vector<layout::LayoutDescription> example_layouts() {
    const auto schema = schema::load_cluster_schema(KPR_EXAMPLE_SCHEMA).schema.value();
    return codegen::planned_layouts(codegen::plan_maps(schema, layout::Datapath::socket));
}

// The line of the emitted source that holds `text`, 1-based.
int line_of(const std::string& source, const std::string& text) {
    const auto at = source.find(text);
    EXPECT_NE(at, std::string::npos) << text;
    return 1 + static_cast<int>(
                   std::count(source.begin(), source.begin() + static_cast<long>(at), '\n'));
}

TEST(BtfLayoutCheck, AcceptsTheObjectKprGenBuilt) {
    const auto object = open_object(KPR_EXAMPLE_OBJECT);
    ASSERT_TRUE(object);
    const auto problems = runtime::check_map_layouts(object.get());
    EXPECT_TRUE(problems.empty()) << fmt::format("{}", fmt::join(problems, "\n"));
}

TEST(BtfLayoutCheck, RefusesAnObjectWhoseKeyLayoutDiffers) {
    TempDir dir;
    compile(source_with_swapped_fields(false), dir.path);
    const auto object = open_object(dir.path / "kpr_sock.bpf.o");
    ASSERT_TRUE(object);
    const auto problems = runtime::check_map_layouts(object.get());
    const auto all = fmt::format("{}", fmt::join(problems, "\n"));
    EXPECT_NE(
        all.find(
            "map kpr_svc4 key: struct kpr_service4_key is 16 bytes in the object, 12 in kpr-agent"),
        std::string::npos)
        << all;
    EXPECT_NE(
        all.find(
            "map kpr_svc4 key: field port of struct kpr_service4_key is at offset 0 in the object, "
            "4 in kpr-agent"),
        std::string::npos)
        << all;
    EXPECT_NE(all.find("map kpr_svc4 key: field address of struct kpr_service4_key is at offset 4 "
                       "in the object, "
                       "0 in kpr-agent"),
              std::string::npos)
        << all;
    // Only the altered map is blamed.
    for (const auto& p : problems)
        EXPECT_TRUE(p.starts_with("map kpr_svc4 key:")) << p;
}

TEST(BtfLayoutCheck, TheEmittedStaticAssertsStopADifferingStructAtCompileTime) {
    TempDir dir;
    try {
        compile(source_with_swapped_fields(true), dir.path);
        FAIL() << "the altered struct compiled";
    } catch (const codegen::CompileError& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "struct kpr_service4_key: offset of address differs from the C++ layout"),
                  std::string::npos)
            << e.what();
    }
}

TEST(LayoutCrossCheck, AcceptsTheEmittedSource) {
    TempDir dir;
    const auto schema = schema::load_cluster_schema(KPR_EXAMPLE_SCHEMA).schema.value();
    compile(codegen::emit_socket_datapath(schema, KPR_TEMPLATES_DIR), dir.path, example_layouts());
    EXPECT_TRUE(fs::exists(dir.path / "kpr_sock.bpf.o"));
}

TEST(LayoutCrossCheck, CatchesMovedFieldsAtTheirLinesInTheEmittedFile) {
    TempDir dir;
    const auto source = source_with_swapped_fields(false);
    try {
        compile(source, dir.path, example_layouts());
        FAIL() << "the altered struct compiled";
    } catch (const codegen::CompileError& e) {
        const std::string what = e.what();
        const auto file = (dir.path / "kpr_sock.bpf.c").string();
        const int port_line = line_of(source, "struct kpr_service4_key {\n\t__be16 port;") + 1;
        EXPECT_NE(what.find(fmt::format(
                      "{}:{}:9: error: field port of struct kpr_service4_key is at offset 0 here, "
                      "4 in the C++ layout (kpr::layout)",
                      file, port_line)),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find(fmt::format(
                      "{}:{}:9: error: field address of struct kpr_service4_key is at offset 4 "
                      "here, 0 in the C++ layout (kpr::layout)",
                      file, port_line + 1)),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("struct kpr_service4_key is 16 bytes here, 12 in the C++ layout"),
                  std::string::npos)
            << what;
        EXPECT_FALSE(fs::exists(dir.path / "kpr_sock.bpf.o"))
            << "an object was written for a mismatched struct";
    }
}

TEST(LayoutCrossCheck, CatchesAnAlterationTheStaticAssertsCannotSee) {
    // pad1 split into two bytes: every named offset and the size still agree.
    const auto schema = schema::load_cluster_schema(KPR_EXAMPLE_SCHEMA).schema.value();
    auto source = codegen::emit_socket_datapath(schema, KPR_TEMPLATES_DIR);
    const std::string original =
        "\t__u16 backend_slot;\n\t__u16 pad1;\n};\n_Static_assert(sizeof(struct kpr_service4_key)";
    const auto at = source.find(original);
    ASSERT_NE(at, std::string::npos);
    source.replace(at, original.size(),
                   "\t__u16 backend_slot;\n\t__u8 pad1;\n\t__u8 "
                   "flags;\n};\n_Static_assert(sizeof(struct kpr_service4_key)");
    TempDir dir;
    compile(source, dir.path); // the asserts alone let it through
    try {
        compile(source, dir.path, example_layouts());
        FAIL() << "the altered struct passed the cross-check";
    } catch (const codegen::CompileError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("error: field pad1 of struct kpr_service4_key is 1 bytes here, 2 in "
                            "the C++ layout"),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("error: struct kpr_service4_key has field flags, which the C++ layout "
                            "(kpr::layout) "
                            "does not"),
                  std::string::npos)
            << what;
    }
}

} // namespace
} // namespace kpr
