// Golden tests: for every schema under tests/golden/, kpr-gen's source is
// byte-identical to the checked-in <schema>.bpf.c, and building the same
// schema twice, in different directories, gives byte-identical objects.
// After an intended change, `scripts/update-golden` rewrites the expectations.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "codegen/bpf_compiler.hpp"
#include "codegen/socket_datapath.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<fs::path> golden_schemas() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(KPR_GOLDEN_DIR))
        if (e.path().extension() == ".yaml")
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string emit(const fs::path& schema_path) {
    auto result = schema::load_cluster_schema(schema_path);
    EXPECT_TRUE(result.schema) << (result.errors.empty() ? "" : result.errors[0].str());
    return codegen::emit_socket_datapath(result.schema.value(), KPR_TEMPLATES_DIR);
}

// The first line where two texts differ, for a readable failure.
std::string first_difference(const std::string& want, const std::string& got) {
    std::istringstream a(want), b(got);
    std::string la, lb;
    for (int line = 1;; ++line) {
        const bool more_a = static_cast<bool>(std::getline(a, la));
        const bool more_b = static_cast<bool>(std::getline(b, lb));
        if (!more_a && !more_b)
            return "identical";
        if (la != lb || more_a != more_b)
            return fmt::format("line {}:\n  expected: {}\n  emitted:  {}", line, more_a ? la : "<end>",
                               more_b ? lb : "<end>");
    }
}

TEST(GoldenSources, EmittedSourcesMatchTheCheckedInOnes) {
    const auto schemas = golden_schemas();
    ASSERT_GE(schemas.size(), 4u);
    for (const auto& schema : schemas) {
        auto expected_path = schema;
        expected_path.replace_extension(".bpf.c");
        ASSERT_TRUE(fs::exists(expected_path)) << expected_path << " is missing; run scripts/update-golden";
        const auto expected = slurp(expected_path);
        const auto emitted = emit(schema);
        EXPECT_TRUE(emitted == expected) << schema.filename() << " differs at "
                                         << first_difference(expected, emitted)
                                         << "\n(if the change is intended, run scripts/update-golden)";
    }
}

TEST(GoldenSources, TheIpv4OnlySourceHasNoIpv6) {
    const auto text = emit(fs::path(KPR_GOLDEN_DIR) / "ipv4-only.yaml");
    for (const char* v6 : {"kpr_svc6", "kpr_service6_key", "connect6", "sock6", "revnat6"})
        EXPECT_EQ(text.find(v6), std::string::npos) << v6;
    EXPECT_EQ(text.find("/* @kpr:"), std::string::npos);
}

TEST(GoldenSources, TheSameSchemaBuildsByteIdenticalObjectsAnywhere) {
    const auto source = emit(fs::path(KPR_GOLDEN_DIR) / "dual-stack.yaml");
    const auto root = fs::temp_directory_path() / fmt::format("kpr-golden-{}", ::getpid());
    std::vector<std::string> objects;
    for (const char* dir : {"one", "two/deeper"}) {
        const auto d = root / dir;
        fs::create_directories(d);
        codegen::compile_bpf_object({KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
                                    {source, d / "kpr_sock.bpf.c", {}}, d / "kpr_sock.bpf.o");
        objects.push_back(slurp(d / "kpr_sock.bpf.o"));
    }
    fs::remove_all(root);
    ASSERT_FALSE(objects[0].empty());
    EXPECT_TRUE(objects[0] == objects[1]) << "objects built in two directories differ";
}

} // namespace
} // namespace kpr
