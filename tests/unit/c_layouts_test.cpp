// The C text emitted for a map layout: the struct with the C spelling of
// every field, followed by the asserts that make the BPF compiler check the
// size and each offset against the C++ declaration.
#include <gtest/gtest.h>

#include "codegen/c_layouts.hpp"
#include "codegen/c_maps.hpp"
#include "codegen/map_plan.hpp"

#include <fmt/format.h>

namespace kpr::codegen {
namespace {

TEST(CLayouts, EmitsTheStructAndItsChecks) {
    EXPECT_EQ(emit_c_layout(layout::describe<layout::RevNatKey6>()),
              "struct kpr_revnat6_key {\n"
              "\t__u64 cookie;\n"
              "\t__be32 address[4];\n"
              "\t__be16 port;\n"
              "\t__u8 pad0[6];\n"
              "};\n"
              "_Static_assert(sizeof(struct kpr_revnat6_key) == 32, \"struct kpr_revnat6_key: size differs "
              "from the C++ layout\");\n"
              "_Static_assert(__builtin_offsetof(struct kpr_revnat6_key, cookie) == 0, \"struct kpr_revnat6_key: "
              "offset of cookie differs from the C++ layout\");\n"
              "_Static_assert(__builtin_offsetof(struct kpr_revnat6_key, address) == 8, \"struct kpr_revnat6_key: "
              "offset of address differs from the C++ layout\");\n"
              "_Static_assert(__builtin_offsetof(struct kpr_revnat6_key, port) == 24, \"struct kpr_revnat6_key: "
              "offset of port differs from the C++ layout\");\n"
              "_Static_assert(__builtin_offsetof(struct kpr_revnat6_key, pad0) == 26, \"struct kpr_revnat6_key: "
              "offset of pad0 differs from the C++ layout\");\n");
}

schema::ClusterSchema schema_with(std::set<net::Family> families) {
    schema::ClusterSchema s;
    s.name = "test";
    s.families = std::move(families);
    s.maps = {{"services", {100}}, {"backends", {200}}, {"sockRevNat", {300}}};
    return s;
}

TEST(CLayouts, AnIpv4OnlyPlanHasNoIpv6MapsOrStructs) {
    const auto plan = plan_maps(schema_with({net::Family::ipv4}), layout::Datapath::socket);
    std::vector<std::string_view> names;
    for (const auto& m : plan)
        names.push_back(m.name);
    EXPECT_EQ(names, (std::vector<std::string_view>{"kpr_svc4", "kpr_backend4", "kpr_revnat4"}));
    const auto text = emit_c_layouts(plan);
    EXPECT_EQ(text.find("6_key"), std::string::npos);
    // A layout used by several maps is emitted once.
    EXPECT_EQ(text.find("struct kpr_service_value {"), text.rfind("struct kpr_service_value {"));
}

TEST(CMaps, EmitsPinnedMapsSizedByTheSchema) {
    const auto text = emit_c_maps(plan_maps(schema_with({net::Family::ipv6}), layout::Datapath::socket));
    EXPECT_NE(text.find("struct {\n"
                        "\t__uint(type, BPF_MAP_TYPE_LRU_HASH);\n"
                        "\t__uint(max_entries, 300);\n"
                        "\t__type(key, struct kpr_revnat6_key);\n"
                        "\t__type(value, struct kpr_revnat6_value);\n"
                        "\t__uint(pinning, LIBBPF_PIN_BY_NAME);\n"
                        "} kpr_revnat6 SEC(\".maps\");\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("__uint(max_entries, 100);\n\t__type(key, struct kpr_service6_key);"), std::string::npos);
    EXPECT_EQ(text.find("kpr_svc4"), std::string::npos);
}

TEST(CMaps, TheTcPlanHasTriesWithoutPreallocationAndAFixedDropArray) {
    auto schema = schema_with({net::Family::ipv4});
    schema.maps.insert({{"ipcache", {400}}, {"endpoints", {500}}, {"policy", {600}},
                        {"conntrack", {2048}}});
    const auto plan = plan_maps(schema, layout::Datapath::tc);
    std::vector<std::string_view> names;
    for (const auto& m : plan)
        names.push_back(m.name);
    EXPECT_EQ(names, (std::vector<std::string_view>{"kpr_ipcache4", "kpr_endpoint", "kpr_policy",
                                                    "kpr_ct4", "kpr_drops"}));
    const auto text = emit_c_maps(plan);
    EXPECT_NE(text.find("\t__uint(type, BPF_MAP_TYPE_LPM_TRIE);\n"
                        "\t__uint(max_entries, 400);\n"
                        "\t__uint(map_flags, BPF_F_NO_PREALLOC);\n"
                        "\t__type(key, struct kpr_ipcache4_key);\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(fmt::format("\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n"
                                    "\t__uint(max_entries, {});\n"
                                    "\t__type(key, __u32);\n",
                                    layout::drop_reason_count)),
              std::string::npos)
        << text;
    EXPECT_EQ(plan.back().capacity_name, "");
    // Only the trie is created without preallocation.
    EXPECT_EQ(text.find("map_flags"), text.rfind("map_flags"));
}

} // namespace
} // namespace kpr::codegen
