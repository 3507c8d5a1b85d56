// What the agent takes from the build to agree with it: the identity
// configuration converted from the schema's identity section (and refused,
// naming the field, when unusable), the baseline rules' distinct label
// matches in their fixed order, the identity-match entries computed from
// compiled identities, and both carried through the manifest.
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "kpr/manifest/build_manifest.hpp"
#include "kpr/policy/identity_match_entries.hpp"
#include "kpr/policy/identity_schema_config.hpp"
#include "kpr/policy/policy_compiler.hpp"
#include "kpr/schema/schema_decode.hpp"
#include "policy_reference.hpp"

namespace kpr::policy {
namespace {

schema::ClusterSchema decode(std::string_view spec) {
    const auto r = schema::decode_cluster_schema(
        fmt::format("apiVersion: kpr.dev/v1alpha1\nkind: ClusterDatapath\nmetadata: {{name: "
                    "t}}\nspec:\n  families: [IPv4, IPv6]\n  tcPrograms: [podIngress, "
                    "podEgress]\n{}",
                    spec),
        "t.yaml");
    for (const auto& e : r.errors)
        ADD_FAILURE() << e.str();
    return r.schema.value();
}

TEST(IdentitySchemaConfig, DefaultsGiveTheCompilersDefaults) {
    EXPECT_EQ(identity_config(schema::IdentitySchema{}), IdentityConfig{});
    EXPECT_TRUE(identity_schema_problems(schema::IdentitySchema{}).empty());
}

TEST(IdentitySchemaConfig, EveryFieldOfTheSectionReachesTheConfiguration) {
    const auto s = decode(R"(  identity:
    podLabelKeys: [app, "app.kubernetes.io/*"]
    namespaceLabelKeys: ["kubernetes.io/metadata.name"]
    excludedLabelKeys: ["app.kubernetes.io/instance"]
    reserved: {host: 11, world: 12, unmanaged: 13, remoteNode: 16, health: 17}
    firstAllocated: 1000
)");
    const IdentityConfig c = identity_config(s.identity);
    EXPECT_EQ(c.pod_label_keys, (std::vector<std::string>{"app", "app.kubernetes.io/*"}));
    EXPECT_EQ(c.namespace_label_keys, (std::vector<std::string>{"kubernetes.io/metadata.name"}));
    EXPECT_EQ(c.excluded_label_keys, (std::vector<std::string>{"app.kubernetes.io/instance"}));
    EXPECT_EQ(c.reserved, (ReservedIdentities{11, 12, 13, 16}));
    EXPECT_EQ(c.label_range, (IdentityRange{1000, IdentityConfig{}.label_range.last}));
    EXPECT_EQ(c.cidr_range, IdentityConfig{}.cidr_range);
    EXPECT_TRUE(c.pod_label_relevant("app.kubernetes.io/name"));
    EXPECT_FALSE(c.pod_label_relevant("app.kubernetes.io/instance"));
    EXPECT_FALSE(s.identity.pod_label_counts("app.kubernetes.io/instance"));
}

TEST(IdentitySchemaConfig, ExcludedKeysAreNotIdentityRelevantForBaselineMatches) {
    const auto r = schema::decode_cluster_schema(R"(apiVersion: kpr.dev/v1alpha1
kind: ClusterDatapath
metadata: {name: t}
spec:
  families: [IPv4]
  tcPrograms: [podIngress]
  baselinePolicy:
    rules:
    - {name: r, priority: 1, action: Deny, direction: Ingress, peers: [{podLabels: {pod-template-hash: abc}}]}
)",
                                                 "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].str().find("\"pod-template-hash\" is not an identity-relevant label key"),
              std::string::npos)
        << r.errors[0].str();
}

TEST(BaselineLabelMatches, DistinctInOrderOfFirstAppearanceWithoutEmptySubjects) {
    const auto s = decode(R"(  baselinePolicy:
    rules:
    - {name: a, priority: 5, action: Deny, direction: Ingress, subject: {podLabels: {app: db}}, peers: [{podLabels: {app: web}}, {reserved: world}]}
    - {name: b, priority: 1, action: Allow, direction: Egress, peers: [{podLabels: {app: db}}, {namespaceLabels: {team: red}}]}
    - {name: c, priority: 1, action: Pass, direction: Egress, subject: {podLabels: {}}, peers: [{podLabels: {app: web}}]}
)");
    using M = schema::IdentityLabelMatch;
    EXPECT_EQ(schema::baseline_label_matches(s.baseline_policy),
              (std::vector<M>{M{{{"app", "db"}}, {}}, M{{{"app", "web"}}, {}},
                              M{{}, {{"team", "red"}}}}));
    const auto order = schema::rules_in_evaluation_order(s.baseline_policy);
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order[0]->name, "b");
    EXPECT_EQ(order[1]->name, "c");
    EXPECT_EQ(order[2]->name, "a");
}

TEST(IdentityMatchEntries, EachLabelIdentityGetsTheBitsOfTheMatchesItsLabelsSatisfy) {
    testing::ClusterBuilder c;
    c.add_namespace("shop", {{"team", "red"}});
    c.add_namespace("lab", {});
    c.add_node("node-1", {*net::Address::parse("192.168.0.1")});
    c.add_pod("shop", "web", {{"app", "web"}, {"tier", "front"}}, {*net::Address::parse("10.0.0.1")},
              "node-1");
    c.add_pod("shop", "db", {{"app", "db"}}, {*net::Address::parse("10.0.0.2")}, "node-1");
    c.add_pod("lab", "web", {{"app", "web"}}, {*net::Address::parse("10.0.0.3")}, "node-1");
    const PolicyState state = compile_policy(c.input, "node-1");
    using M = schema::IdentityLabelMatch;
    const std::vector<M> matches = {
        M{{{"app", "web"}}, {}},                                  // 0: both webs
        M{{}, {{"team", "red"}}},                                 // 1: shop's pods
        M{{{"app", "web"}}, {{"kubernetes.io/metadata.name", "lab"}}}, // 2: lab's web
        M{{{"app", "cache"}}, {}},                                // 3: nobody
        M{{}, {}},                                                // 4: every pod
    };
    const auto entries = identity_match_entries(state, matches);
    const auto identity_of = [&](const std::string& ns, const std::string& pod) {
        return state.endpoints.at({"Pod", ns, pod}).identity;
    };
    const auto bits = [&](Identity id) {
        std::vector<std::size_t> out;
        const auto& value = entries.at({id});
        for (std::size_t i = 0; i < layout::max_baseline_label_matches; ++i)
            if (value.test(i))
                out.push_back(i);
        return out;
    };
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(bits(identity_of("shop", "web")), (std::vector<std::size_t>{0, 1, 4}));
    EXPECT_EQ(bits(identity_of("shop", "db")), (std::vector<std::size_t>{1, 4}));
    EXPECT_EQ(bits(identity_of("lab", "web")), (std::vector<std::size_t>{0, 2, 4}));
    EXPECT_TRUE(identity_match_entries(state, {matches[3]}).empty());
    EXPECT_THROW(identity_match_entries(
                     state, std::vector<M>(layout::max_baseline_label_matches + 1, matches[0])),
                 std::invalid_argument);
}

TEST(ManifestPolicyInputs, IdentityConfigurationAndLabelMatchesReadBackEqual) {
    const auto s = decode(R"(  identity:
    podLabelKeys: [app, "example.com/*"]
    reserved: {host: 1, world: 2, remoteNode: 9}
  baselinePolicy:
    rules:
    - {name: a, priority: 5, action: Deny, direction: Ingress, subject: {podLabels: {app: db}}, peers: [{podLabels: {"example.com/role": web}, namespaceLabels: {team: red}}]}
)");
    manifest::BuildManifest m;
    m.schema_name = "t";
    m.identity = identity_config(s.identity);
    m.baseline_label_matches = schema::baseline_label_matches(s.baseline_policy);
    const auto path = std::filesystem::temp_directory_path() /
                      fmt::format("kpr-manifest-policy-{}.manifest.json", ::getpid());
    {
        std::ofstream out(path);
        out << manifest::to_json(m);
    }
    const auto back = manifest::read_manifest(path);
    std::filesystem::remove(path);
    EXPECT_EQ(back, m);
    EXPECT_EQ(back.identity->reserved.remote_node, 9u);
    EXPECT_EQ(back.baseline_label_matches.size(), 2u);

    manifest::BuildManifest without;
    without.schema_name = "t";
    EXPECT_EQ(manifest::to_json(without).find("identity"), std::string::npos);
}

} // namespace
} // namespace kpr::policy
