// The build manifest: kpr-gen writes it beside the object with the hashes
// and counts of what it built, it reads back equal, and kpr-agent refuses
// an object whose manifest is missing, belongs to another build, or
// records a map layout or capacity other than the agent's — naming the map.
// (These refusals come before any kernel call: no privileges needed.)
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "kpr/file_contents.hpp"

#include "codegen/datapath_build.hpp"
#include "codegen/explain.hpp"
#include "codegen/map_plan.hpp"
#include "kpr/manifest/build_manifest.hpp"
#include "kpr/manifest/layout_hash.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;

// A datapath built from the example schema into a directory of its own.
class BuiltDatapath : public testing::Test {
  protected:
    void SetUp() override {
        fs::create_directories(root_);
        schema_ = schema::load_cluster_schema(KPR_EXAMPLE_SCHEMA).schema.value();
        auto built = codegen::build_datapath(
            {*schema_,
             read_file_contents(KPR_EXAMPLE_SCHEMA).value_or(""),
             KPR_TEMPLATES_DIR,
             {KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
             root_ / "out"});
        ASSERT_EQ(built.size(), 1u) << "the example schema has no TC programs";
        build_ = built.front();
    }
    void TearDown() override { fs::remove_all(root_); }

    void rewrite_manifest(const std::string& from, const std::string& to) {
        auto text = read_file_contents(build_.manifest).value_or("");
        const auto at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
        std::ofstream(build_.manifest, std::ios::trunc) << text;
    }

    // What DatapathObject::load says; it must refuse before the kernel.
    std::string load_error() {
        try {
            runtime::DatapathObject::load(build_.object,
                                          runtime::InstancePaths("manifest-test", root_ / "bpffs"));
        } catch (const runtime::Error& e) {
            return e.what();
        }
        ADD_FAILURE() << "the object was loaded";
        return "";
    }

    fs::path root_ = fs::temp_directory_path() / fmt::format("kpr-manifest-test-{}", ::getpid());
    std::optional<schema::ClusterSchema> schema_;
    codegen::DatapathBuild build_;
};

TEST_F(BuiltDatapath, TheManifestRecordsWhatWasBuiltAndReadsBackEqual) {
    EXPECT_EQ(build_.manifest.filename(), "kpr_sock.manifest.json");
    const auto m = manifest::read_manifest(build_.manifest);
    EXPECT_EQ(m, build_.contents);
    EXPECT_EQ(m.schema_name, "example");
    EXPECT_EQ(m.schema_hash,
              manifest::content_hash(read_file_contents(KPR_EXAMPLE_SCHEMA).value_or("")));
    EXPECT_EQ(m.object_hash,
              manifest::content_hash(read_file_contents(build_.object).value_or("")));
    ASSERT_EQ(m.maps.size(), 6u);
    EXPECT_EQ(m.maps[0].name, "kpr_svc4");
    EXPECT_EQ(m.maps[0].capacity, schema_->capacity("services"));
    EXPECT_EQ(m.maps[0].layout_hash, manifest::map_layout_hash(layout::services4));
    EXPECT_NE(m.maps[0].layout_hash, m.maps[1].layout_hash);
    ASSERT_EQ(m.programs.size(), 8u);
    EXPECT_EQ(m.programs[0].section, "cgroup/connect4");
    for (const auto& p : m.programs)
        EXPECT_GT(p.instructions, 0u) << p.name;
}

TEST_F(BuiltDatapath, TheAgentAcceptsItsManifest) {
    std::unique_ptr<bpf_object, decltype(&bpf_object__close)> o(
        bpf_object__open_file(build_.object.c_str(), nullptr), &bpf_object__close);
    ASSERT_TRUE(o);
    EXPECT_EQ(manifest::check_manifest(manifest::read_manifest(build_.manifest),
                                       read_file_contents(build_.object).value_or(""), o.get()),
              std::vector<std::string>{});
}

TEST_F(BuiltDatapath, AChangedLayoutHashIsRefusedNamingTheMap) {
    const auto hash = manifest::map_layout_hash(layout::backends6);
    rewrite_manifest(hash, "fnv1a64:0000000000000000");
    const auto error = load_error();
    EXPECT_NE(error.find(fmt::format(
                  "map kpr_backend6: layout hash fnv1a64:0000000000000000 in the manifest, {} in "
                  "this kpr-agent: the object was built from other layouts of BPF_MAP_TYPE_HASH "
                  "kpr_backend_key / kpr_backend6",
                  hash)),
              std::string::npos)
        << error;
    EXPECT_EQ(error.find("map kpr_svc4"), std::string::npos)
        << "only the altered map is blamed: " << error;
}

TEST_F(BuiltDatapath, AManifestOfAnotherBuildIsRefused) {
    rewrite_manifest(build_.contents.object_hash, "fnv1a64:0123456789abcdef");
    EXPECT_NE(load_error().find(
                  fmt::format("the object's hash is {}, the manifest's fnv1a64:0123456789abcdef",
                              build_.contents.object_hash)),
              std::string::npos);
}

TEST_F(BuiltDatapath, ACapacityTheObjectDoesNotHaveIsRefused) {
    rewrite_manifest(
        "\"name\": \"kpr_revnat6\", \"type\": \"BPF_MAP_TYPE_LRU_HASH\", \"capacity\": 262144",
        "\"name\": \"kpr_revnat6\", \"type\": \"BPF_MAP_TYPE_LRU_HASH\", \"capacity\": 1024");
    EXPECT_NE(
        load_error().find("map kpr_revnat6: capacity 262144 in the object, 1024 in the manifest"),
        std::string::npos);
}

TEST_F(BuiltDatapath, AMapTheAgentDoesNotKnowIsRefused) {
    rewrite_manifest("\"kpr_svc6\"", "\"kpr_svc7\"");
    const auto error = load_error();
    EXPECT_NE(error.find("map kpr_svc7: not a map this kpr-agent knows"), std::string::npos)
        << error;
    EXPECT_NE(error.find("map kpr_svc6: in the object but not in the manifest"), std::string::npos)
        << error;
}

TEST_F(BuiltDatapath, AnObjectWithoutAManifestIsRefused) {
    fs::remove(build_.manifest);
    const auto error = load_error();
    EXPECT_NE(error.find("refusing to load it without a valid build manifest"), std::string::npos)
        << error;
    EXPECT_NE(error.find("kpr_sock.manifest.json: cannot read the build manifest"),
              std::string::npos)
        << error;
}

TEST_F(BuiltDatapath, AMalformedManifestIsRefused) {
    rewrite_manifest("\"kprManifest\": 1", "\"kprManifest\": 2");
    EXPECT_NE(load_error().find("manifest format 2 is not 1"), std::string::npos);
}

TEST_F(BuiltDatapath, ExplainListsMapsProgramsAndWhatIsNotBuilt) {
    const auto text = codegen::explain_datapath(*schema_, {build_});
    EXPECT_NE(
        text.find("kpr_svc6      BPF_MAP_TYPE_HASH         key 24 B  value 16 B  capacity    65536"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("(spec.maps.sockRevNat, IPv6)"), std::string::npos) << text;
    EXPECT_NE(text.find("kpr_connect4     cgroup/connect4"), std::string::npos) << text;
    EXPECT_NE(text.find("nothing: the schema asks only for what this kpr-gen builds"),
              std::string::npos)
        << text;
}

TEST(MapMemoryEstimate, CountsElementsAndBuckets) {
    const auto schema = schema::load_cluster_schema(KPR_EXAMPLE_SCHEMA).schema.value();
    const auto plan = codegen::plan_maps(schema, layout::Datapath::socket);
    // kpr_svc4: 12-byte key (16 rounded), 16-byte value, 65536 entries and buckets.
    EXPECT_EQ(plan[0].name, "kpr_svc4");
    EXPECT_EQ(codegen::estimated_map_bytes(plan[0]), (48u + 16 + 16) * 65536 + 16u * 65536);
}

TEST(ManifestPath, SitsBesideTheObject) {
    EXPECT_EQ(manifest::manifest_path_for("/x/out/kpr_sock.bpf.o"),
              fs::path("/x/out/kpr_sock.manifest.json"));
}

} // namespace
} // namespace kpr
