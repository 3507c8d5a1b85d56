// The generator's output against this kernel: every example schema builds
// and every program it yields passes the verifier (the verified instruction
// counts are printed and recorded as test properties), and an upgrade over
// pinned maps whose layout changed is refused, naming the map and field.
#include <bpf/libbpf.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "kpr/file_contents.hpp"

#include "codegen/datapath_build.hpp"
#include "codegen/socket_datapath.hpp"
#include "codegen/verifier_load.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/schema/schema_decode.hpp"
#include "testbed/privileges.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;

const codegen::CompilerSettings compiler{KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE,
                                         KPR_CLANG_RESOURCE_DIR};

struct TempDir {
    fs::path path = fs::temp_directory_path() / fmt::format("kprt-{}-verifier", ::getpid());
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

std::vector<codegen::DatapathBuild> build(const fs::path& schema_path, const fs::path& out) {
    const auto result = schema::load_cluster_schema(schema_path);
    EXPECT_TRUE(result.schema) << (result.errors.empty() ? "" : result.errors.front().str());
    return codegen::build_datapath({result.schema.value(),
                                    read_file_contents(schema_path).value_or(""), KPR_TEMPLATES_DIR,
                                    compiler, out});
}

// The programs a schema's families, hooks and TC programs call for, by name.
std::set<std::string> expected_programs(const schema::ClusterSchema& s) {
    std::set<std::string> out;
    for (auto f : s.families)
        for (auto h : s.hooks)
            out.insert(fmt::format("kpr_{}{}", to_string(h), f == net::Family::ipv4 ? 4 : 6));
    // Both bind hooks whatever the families: a socket bound to [::] holds the IPv4 port too.
    if (s.hooks.contains(schema::SocketHook::bind))
        out.insert({"kpr_bind4", "kpr_bind6"});
    if (s.tc_programs.contains(schema::TcProgram::podIngress) ||
        s.tc_programs.contains(schema::TcProgram::podEgress) ||
        s.tc_programs.contains(schema::TcProgram::nodeIngress))
        out.insert("kpr_from_pod");
    if (s.tc_programs.contains(schema::TcProgram::nodeIngress))
        out.insert("kpr_from_netdev");
    if (s.tc_programs.contains(schema::TcProgram::podIngress))
        out.insert("kpr_to_pod");
    return out;
}

class VerifierMatrix : public testing::TestWithParam<std::string> {};

TEST_P(VerifierMatrix, EveryProgramLoads) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    const fs::path schema_path = fs::path(KPR_EXAMPLES_DIR) / GetParam();
    TempDir dir;
    std::set<std::string> loaded;
    for (const auto& built : build(schema_path, dir.path)) {
        const auto report = codegen::load_into_verifier(built.object);
        ASSERT_FALSE(report.skipped) << *report.skipped;
        for (const auto& p : report.programs) {
            loaded.insert(p.name);
            EXPECT_GT(p.verified_instructions, 0u) << p.name;
            std::cout << fmt::format(
                "[ verifier ] {:<28} {:<18} {:>5} instructions, {:>6} verified\n", GetParam(),
                p.name, p.instructions, p.verified_instructions);
            RecordProperty(p.name + "_verified_instructions",
                           static_cast<int>(p.verified_instructions));
        }
    }
    EXPECT_EQ(loaded, expected_programs(schema::load_cluster_schema(schema_path).schema.value()));
}

INSTANTIATE_TEST_SUITE_P(Examples, VerifierMatrix,
                         testing::Values("cluster.yaml", "schemas/minimal.yaml",
                                         "schemas/ipv4-only.yaml", "schemas/dual-stack.yaml",
                                         "schemas/all-features.yaml", "schemas/baseline-1k.yaml"),
                         [](const testing::TestParamInfo<std::string>& info) {
                             auto name = fs::path(info.param).stem().string();
                             name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                             return name;
                         });

TEST(VerifierMatrix, CoversEveryExampleSchema) {
    std::size_t count = 0;
    for (const auto& e : fs::directory_iterator(fs::path(KPR_EXAMPLES_DIR) / "schemas"))
        count += e.path().extension() == ".yaml";
    EXPECT_EQ(count, 5u) << "a new example schema needs its line in VerifierMatrix";
}

// An instance under the real bpffs, named for this process (so a killed
// run's debris is swept), unpinned when the test ends.
struct PinnedInstance {
    explicit PinnedInstance(std::string_view role)
        : pins(fmt::format("kprt-{}-{}", ::getpid(), role), runtime::default_bpffs) {}
    ~PinnedInstance() { fs::remove_all(pins.root()); }
    runtime::InstancePaths pins;
};

// Pins the example's maps as an older build whose kpr_service4_key had
// address and port the other way round would have.
void pin_maps_with_swapped_service_key(const runtime::InstancePaths& pins, const fs::path& dir) {
    const auto schema = schema::load_cluster_schema(KPR_EXAMPLE_SCHEMA).schema.value();
    auto source = codegen::emit_socket_datapath(schema, KPR_TEMPLATES_DIR);
    const std::string original = "struct kpr_service4_key {\n\t__be32 address;\n\t__be16 port;\n";
    const auto at = source.find(original);
    ASSERT_NE(at, std::string::npos);
    source.replace(at, original.size(),
                   "struct kpr_service4_key {\n\t__be16 port;\n\t__be32 address;\n");
    source = std::regex_replace(source,
                                std::regex("_Static_assert\\([^\n]*kpr_service4_key[^\n]*\n"), "");
    codegen::compile_bpf_object(compiler, {source, dir / "old" / "kpr_sock.bpf.c", {}, {}},
                                dir / "old.bpf.o");

    fs::create_directories(pins.maps());
    const std::string root = pins.maps().string();
    bpf_object_open_opts opts{};
    opts.sz = sizeof opts;
    opts.pin_root_path = root.c_str();
    std::unique_ptr<bpf_object, decltype(&bpf_object__close)> old(
        bpf_object__open_file((dir / "old.bpf.o").c_str(), &opts), &bpf_object__close);
    ASSERT_TRUE(old);
    bpf_program* p;
    bpf_object__for_each_program(p, old.get()) bpf_program__set_autoload(p, false);
    ASSERT_EQ(bpf_object__load(old.get()), 0);
    ASSERT_TRUE(fs::exists(pins.map("kpr_svc4")));
}

TEST(Upgrade, PinnedMapsWithAnotherLayoutAreRefusedNamingTheMapAndField) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    TempDir dir;
    const PinnedInstance instance("upgrade");
    const auto& pins = instance.pins;
    pin_maps_with_swapped_service_key(pins, dir.path);
    const auto built = build(KPR_EXAMPLE_SCHEMA, dir.path / "new");
    try {
        runtime::DatapathObject::load(built.front().object, pins);
        FAIL() << "the upgrade was loaded over maps of another layout";
    } catch (const runtime::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("does not fit the maps instance"), std::string::npos) << what;
        EXPECT_NE(what.find("map kpr_svc4 key: field port of struct kpr_service4_key is at offset "
                            "0 in the pinned map, "
                            "4 in kpr-agent"),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("map kpr_svc4 key: struct kpr_service4_key is 16 bytes in the pinned "
                            "map, 12 in kpr-agent"),
                  std::string::npos)
            << what;
        EXPECT_EQ(what.find("map kpr_backend4"), std::string::npos)
            << "only the changed map is blamed: " << what;
    }
}

TEST(Upgrade, PinnedMapsOfTheSameLayoutAreReused) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    TempDir dir;
    const PinnedInstance instance("reuse");
    const auto& pins = instance.pins;
    const auto first = build(KPR_EXAMPLE_SCHEMA, dir.path / "first");
    { runtime::DatapathObject::load(first.front().object, pins); }
    ASSERT_TRUE(fs::exists(pins.map("kpr_svc4")));
    const auto second = build(KPR_EXAMPLE_SCHEMA, dir.path / "second");
    EXPECT_NO_THROW(runtime::DatapathObject::load(second.front().object, pins));
}

// The socket and the TC object of one schema share nothing but the pin
// directory, and both load into one instance.
TEST(TcObject, LoadsBesideTheSocketObjectInOneInstance) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    TempDir dir;
    const PinnedInstance instance("both");
    const auto built = build(fs::path(KPR_EXAMPLES_DIR) / "schemas" / "baseline-1k.yaml", dir.path);
    ASSERT_EQ(built.size(), 2u);
    for (const auto& b : built)
        EXPECT_NO_THROW(runtime::DatapathObject::load(b.object, instance.pins)) << b.object;
    for (const char* map : {"kpr_svc4", "kpr_ipcache4", "kpr_ct6", "kpr_drops"})
        EXPECT_TRUE(fs::exists(instance.pins.map(map))) << map;
}

} // namespace
} // namespace kpr
