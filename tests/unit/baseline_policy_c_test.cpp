// The baseline rules' C (codegen/baseline_policy_c): byte-identical to the
// checked-in tests/golden/baseline/<schema>.c for each schema there (after
// an intended change, KPR_UPDATE_GOLDEN=1 rewrites them, as
// scripts/update-golden does), shaped as promised — one kpr_idmatch lookup
// per identity and direction, none without label matches, the empty rule
// set passing everything — and accepted by the in-process BPF compiler.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "codegen/baseline_policy_c.hpp"
#include "codegen/map_plan.hpp"
#include "kpr/file_contents.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace kpr::codegen {
namespace {

namespace fs = std::filesystem;

schema::ClusterSchema load(const fs::path& path) {
    auto r = schema::load_cluster_schema(path);
    EXPECT_TRUE(r.schema) << (r.errors.empty() ? "" : r.errors.front().str());
    return r.schema.value();
}

std::size_t count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

TEST(BaselinePolicyC, EmittedSourceMatchesTheGoldenOnes) {
    const fs::path dir = fs::path(KPR_GOLDEN_DIR) / "baseline";
    int cases = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".yaml")
            continue;
        ++cases;
        const auto expected_path = fs::path(e.path()).replace_extension(".c");
        const auto emitted = emit_baseline_policy_c(load(e.path()));
        if (const char* update = std::getenv("KPR_UPDATE_GOLDEN"); update && *update == '1') {
            std::ofstream(expected_path) << emitted;
            continue;
        }
        EXPECT_EQ(read_file_contents(expected_path).value_or("<missing>"), emitted)
            << expected_path << " differs (if intended, run scripts/update-golden)";
    }
    EXPECT_GE(cases, 1);
}

TEST(BaselinePolicyC, OneIdentityMatchLookupPerIdentityAndDirection) {
    const auto text = emit_baseline_policy_c(load(KPR_EXAMPLES_DIR "/schemas/baseline-1k.yaml"));
    // Ingress rules have subjects but no label peers; egress rules both.
    EXPECT_EQ(count(text, "kpr_idmatch_bits(s->local_identity"), 2u);
    EXPECT_EQ(count(text, "kpr_idmatch_bits(s->peer_identity"), 1u);
    EXPECT_EQ(count(text, "bpf_map_lookup_elem"), 1u); // in the one helper
    EXPECT_EQ(count(text, "return KPR_BASELINE_"), 1000u + 2u);
}

TEST(BaselinePolicyC, NoLabelMatchesNoIdentityMatchMap) {
    const auto schema = load(KPR_GOLDEN_DIR "/baseline/every-kind.yaml");
    auto without = schema;
    std::erase_if(without.baseline_policy.rules, [](const schema::BaselineRule& r) {
        if (r.subject != schema::IdentityLabelMatch{})
            return true;
        for (const auto& p : r.peers)
            if (std::holds_alternative<schema::IdentityLabelMatch>(p))
                return true;
        return false;
    });
    ASSERT_FALSE(without.baseline_policy.rules.empty());
    EXPECT_TRUE(baseline_uses_idmatch(schema));
    EXPECT_FALSE(baseline_uses_idmatch(without));
    EXPECT_EQ(emit_baseline_policy_c(without).find("idmatch"), std::string::npos);
    const auto declares_idmatch = [](const schema::ClusterSchema& s) {
        const auto plan = plan_maps(s, layout::Datapath::tc);
        return std::any_of(plan.begin(), plan.end(),
                           [](const PlannedMap& m) { return m.name == "kpr_idmatch"; });
    };
    EXPECT_TRUE(declares_idmatch(schema));
    EXPECT_FALSE(declares_idmatch(without));
}

TEST(BaselinePolicyC, NoRulesPassEverything) {
    schema::ClusterSchema empty;
    const auto text = emit_baseline_policy_c(empty);
    EXPECT_EQ(count(text, "return KPR_BASELINE_PASS;"), 2u);
    EXPECT_EQ(count(text, "return KPR_BASELINE_"), 2u);
    EXPECT_EQ(text.find("idmatch"), std::string::npos);
}

} // namespace
} // namespace kpr::codegen
