// The layout checks on both sides of a map: the agent's BTF check accepts the
// object kpr-gen built and refuses one whose struct differs from kpr's
// layout, naming the map, struct and field; and the emitted _Static_asserts
// stop such a struct at BPF compile time already.
#include <bpf/libbpf.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "codegen/bpf_compiler.hpp"
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
        text = std::regex_replace(text, std::regex("_Static_assert\\([^\n]*kpr_service4_key[^\n]*\n"), "");
    return text;
}

void compile(const std::string& source, const fs::path& dir) {
    std::ofstream(dir / "kpr_sock.bpf.c") << source;
    codegen::compile_bpf_object({KPR_BPF_CLANG, KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE}, dir / "kpr_sock.bpf.c",
                                dir / "kpr_sock.bpf.o");
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
    EXPECT_NE(all.find("map kpr_svc4 key: struct kpr_service4_key is 16 bytes in the object, 12 in kpr-agent"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("map kpr_svc4 key: field port of struct kpr_service4_key is at offset 0 in the object, "
                       "4 in kpr-agent"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("map kpr_svc4 key: field address of struct kpr_service4_key is at offset 4 in the object, "
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
        EXPECT_NE(std::string(e.what()).find("struct kpr_service4_key: offset of address differs from the C++ layout"),
                  std::string::npos)
            << e.what();
    }
}

} // namespace
} // namespace kpr
