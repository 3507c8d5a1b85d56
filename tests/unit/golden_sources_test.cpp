// Golden tests: for every schema under tests/golden/ and every example
// schema under examples/schemas/, kpr-gen's socket source is byte-identical
// to the checked-in tests/golden/[examples/]<schema>.bpf.c and, for a schema
// with pod TC programs, its TC source to <schema>.tc.bpf.c (which exists
// for no other schema); building the same schema twice, in different
// directories, gives byte-identical sources, objects and manifests.
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
#include "codegen/tc_datapath.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;

struct GoldenCase {
    fs::path schema;
    fs::path expected;    // the checked-in socket source
    fs::path expected_tc; // the checked-in TC source
};

std::vector<GoldenCase> golden_cases() {
    std::vector<GoldenCase> out;
    for (const auto& [schemas, expected] :
         {std::pair{fs::path(KPR_GOLDEN_DIR), fs::path(KPR_GOLDEN_DIR)},
          std::pair{fs::path(KPR_EXAMPLES_DIR) / "schemas", fs::path(KPR_GOLDEN_DIR) / "examples"}})
        for (const auto& e : fs::directory_iterator(schemas))
            if (e.path().extension() == ".yaml")
                out.push_back({e.path(),
                               expected / e.path().filename().replace_extension(".bpf.c"),
                               expected / e.path().filename().replace_extension(".tc.bpf.c")});
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.schema < b.schema; });
    return out;
}

schema::ClusterSchema load(const fs::path& schema_path) {
    auto result = schema::load_cluster_schema(schema_path);
    EXPECT_TRUE(result.schema) << (result.errors.empty() ? "" : result.errors[0].str());
    return result.schema.value();
}

std::string emit(const fs::path& schema_path) {
    return codegen::emit_socket_datapath(load(schema_path), KPR_TEMPLATES_DIR);
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
    std::size_t tc_sources = 0;
    for (const auto& [schema, expected_path, expected_tc_path] : cases) {
        ASSERT_TRUE(fs::exists(expected_path))
            << expected_path << " is missing; run scripts/update-golden";
        const auto expected = read_file_contents(expected_path).value_or("");
        const auto emitted = emit(schema);
        EXPECT_TRUE(emitted == expected)
            << schema << " differs at " << first_difference(expected, emitted)
            << "\n(if the change is intended, run scripts/update-golden)";
        const auto s = load(schema);
        if (!codegen::has_tc_datapath(s)) {
            EXPECT_FALSE(fs::exists(expected_tc_path))
                << expected_tc_path << " belongs to no TC object; run scripts/update-golden";
            continue;
        }
        ++tc_sources;
        ASSERT_TRUE(fs::exists(expected_tc_path))
            << expected_tc_path << " is missing; run scripts/update-golden";
        const auto expected_tc = read_file_contents(expected_tc_path).value_or("");
        const auto emitted_tc = codegen::emit_datapath(s, KPR_TEMPLATES_DIR, layout::Datapath::tc);
        EXPECT_TRUE(emitted_tc == expected_tc)
            << schema << "'s TC source differs at " << first_difference(expected_tc, emitted_tc)
            << "\n(if the change is intended, run scripts/update-golden)";
    }
    EXPECT_GE(tc_sources, 3u);
}

TEST(GoldenSources, TheTcSourceHasOnlyTheFamiliesAndDirectionsAsked) {
    auto s = load(fs::path(KPR_GOLDEN_DIR) / "tc-ipv4-ingress.yaml");
    const auto text = codegen::emit_datapath(s, KPR_TEMPLATES_DIR, layout::Datapath::tc);
    for (const char* absent : {"kpr_ct6", "kpr_ipcache6", "KPR_HAVE_IPV6", "KPR_HAVE_POD_EGRESS",
                               "/* @kpr:"})
        EXPECT_EQ(text.find(absent), std::string::npos) << absent;
    for (const char* present : {"kpr_ct4", "KPR_HAVE_POD_INGRESS", "int kpr_to_pod",
                                "KPR_DROP_POLICY_REVOKED = ", "#define KPR_CT_TCP_NEW_NS 7000000000ULL",
                                "__uint(map_flags, BPF_F_NO_PREALLOC);"})
        EXPECT_NE(text.find(present), std::string::npos) << present;
}

TEST(GoldenSources, TheIpv4OnlySourceHasNoIpv6) {
    const auto text = emit(fs::path(KPR_GOLDEN_DIR) / "ipv4-only.yaml");
    for (const char* v6 : {"kpr_svc6", "kpr_service6_key", "connect6", "sock6", "revnat6"})
        EXPECT_EQ(text.find(v6), std::string::npos) << v6;
    EXPECT_EQ(text.find("/* @kpr:"), std::string::npos);
}

// The socket source does not depend on what only the TC object (or no
// data path yet) uses: TC programs, conntrack, Maglev, the SNAT ports,
// identities and the baseline policy. (Session affinity is the socket
// object's: it declares kpr_affinity.)
TEST(GoldenSources, SectionsOutsideTheSocketObjectLeaveItsSourceAlone) {
    auto full =
        schema::load_cluster_schema(fs::path(KPR_EXAMPLES_DIR) / "schemas" / "all-features.yaml")
            .schema.value();
    auto bare = full;
    bare.tc_programs.clear();
    bare.features = {};
    bare.features.session_affinity = full.features.session_affinity;
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
    const fs::path schema_path = fs::path(KPR_GOLDEN_DIR) / "tc-dual-stack.yaml";
    const auto schema = schema::load_cluster_schema(schema_path).schema.value();
    const auto root = fs::temp_directory_path() / fmt::format("kpr-golden-{}", ::getpid());
    std::vector<std::vector<std::string>> builds; // per object: source, object, manifest
    for (const char* dir : {"one", "two/deeper"}) {
        std::vector<std::string> files;
        for (const auto& built : codegen::build_datapath(
                 {schema,
                  read_file_contents(schema_path).value(),
                  KPR_TEMPLATES_DIR,
                  {KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
                  root / dir}))
            for (const auto& f : {built.source, built.object, built.manifest})
                files.push_back(read_file_contents(f).value_or(""));
        builds.push_back(std::move(files));
    }
    fs::remove_all(root);
    ASSERT_EQ(builds[0].size(), 6u) << "the socket and the TC object";
    ASSERT_FALSE(builds[0][1].empty());
    for (std::size_t i = 0; i < builds[0].size(); ++i)
        EXPECT_TRUE(builds[0][i] == builds[1][i])
            << "file " << i << " (source, object, manifest per object) differs between two "
            << "directories";
}

} // namespace
} // namespace kpr
