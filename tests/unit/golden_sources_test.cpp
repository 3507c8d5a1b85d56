// Golden tests: for every schema under tests/golden/ and every example
// schema under examples/schemas/, kpr-gen's source is byte-identical to the
// checked-in tests/golden/[examples/]<schema>.bpf.c, and building the same
// schema twice, in different directories, gives byte-identical source,
// object and manifest.
// After an intended change, `scripts/update-golden` rewrites the expectations.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "kpr/file_contents.hpp"

#include "codegen/datapath_build.hpp"
#include "codegen/map_plan.hpp"
#include "codegen/socket_datapath.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;

struct GoldenCase {
    fs::path schema;
    fs::path expected; // the checked-in source
};

std::vector<GoldenCase> golden_cases() {
    std::vector<GoldenCase> out;
    for (const auto& [schemas, expected] :
         {std::pair{fs::path(KPR_GOLDEN_DIR), fs::path(KPR_GOLDEN_DIR)},
          std::pair{fs::path(KPR_EXAMPLES_DIR) / "schemas", fs::path(KPR_GOLDEN_DIR) / "examples"}})
        for (const auto& e : fs::directory_iterator(schemas))
            if (e.path().extension() == ".yaml")
                out.push_back(
                    {e.path(), expected / e.path().filename().replace_extension(".bpf.c")});
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.schema < b.schema; });
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
            return fmt::format("line {}:\n  expected: {}\n  emitted:  {}", line,
                               more_a ? la : "<end>", more_b ? lb : "<end>");
    }
}

TEST(GoldenSources, EmittedSourcesMatchTheCheckedInOnes) {
    const auto cases = golden_cases();
    ASSERT_GE(cases.size(), 9u);
    for (const auto& [schema, expected_path] : cases) {
        ASSERT_TRUE(fs::exists(expected_path))
            << expected_path << " is missing; run scripts/update-golden";
        const auto expected = read_file_contents(expected_path).value_or("");
        const auto emitted = emit(schema);
        EXPECT_TRUE(emitted == expected)
            << schema << " differs at " << first_difference(expected, emitted)
            << "\n(if the change is intended, run scripts/update-golden)";
    }
}

TEST(GoldenSources, TheIpv4OnlySourceHasNoIpv6) {
    const auto text = emit(fs::path(KPR_GOLDEN_DIR) / "ipv4-only.yaml");
    for (const char* v6 : {"kpr_svc6", "kpr_service6_key", "connect6", "sock6", "revnat6"})
        EXPECT_EQ(text.find(v6), std::string::npos) << v6;
    EXPECT_EQ(text.find("/* @kpr:"), std::string::npos);
}

// TC programs, conntrack, affinity, Maglev, identities and the baseline
// policy have no data path yet: asking for them must not emit a byte.
TEST(GoldenSources, SectionsWithoutADataPathEmitNothing) {
    auto full =
        schema::load_cluster_schema(fs::path(KPR_EXAMPLES_DIR) / "schemas" / "all-features.yaml")
            .schema.value();
    auto bare = full;
    bare.tc_programs.clear();
    bare.features = {};
    bare.identity = {};
    bare.baseline_policy = {};
    std::set<std::string_view> socket_capacities;
    for (const auto& map : codegen::plan_maps(full, layout::Datapath::socket))
        socket_capacities.insert(map.capacity_name);
    for (const auto& d : schema::map_defaults)
        if (!socket_capacities.contains(d.name))
            bare.maps[std::string(d.name)].capacity = d.capacity;
    ASSERT_NE(bare, full);
    EXPECT_EQ(codegen::emit_socket_datapath(full, KPR_TEMPLATES_DIR),
              codegen::emit_socket_datapath(bare, KPR_TEMPLATES_DIR));
}

TEST(GoldenSources, TheSameSchemaBuildsByteIdenticalFilesAnywhere) {
    const fs::path schema_path = fs::path(KPR_GOLDEN_DIR) / "dual-stack.yaml";
    const auto schema = schema::load_cluster_schema(schema_path).schema.value();
    const auto root = fs::temp_directory_path() / fmt::format("kpr-golden-{}", ::getpid());
    std::vector<std::vector<std::string>> builds; // source, object, manifest
    for (const char* dir : {"one", "two/deeper"}) {
        const auto built = codegen::build_datapath(
            {schema,
             read_file_contents(schema_path).value(),
             KPR_TEMPLATES_DIR,
             {KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
             root / dir});
        builds.push_back({read_file_contents(built.source).value_or(""),
                          read_file_contents(built.object).value_or(""),
                          read_file_contents(built.manifest).value_or("")});
    }
    fs::remove_all(root);
    ASSERT_FALSE(builds[0][1].empty());
    EXPECT_TRUE(builds[0][0] == builds[1][0]) << "sources built in two directories differ";
    EXPECT_TRUE(builds[0][1] == builds[1][1]) << "objects built in two directories differ";
    EXPECT_EQ(builds[0][2], builds[1][2]) << "manifests built in two directories differ";
}

} // namespace
} // namespace kpr
