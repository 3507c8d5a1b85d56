// Identities: the same label sets get the same numbers whatever order they
// are seen in (so every node agrees), collisions are settled by canonical
// order, and only identity-relevant labels count.
#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/policy/identity.hpp"
#include "kpr/policy/identity_allocator.hpp"
#include "kpr/policy/policy_compiler.hpp"

namespace kpr::policy {
namespace {

TEST(Identity, Fnv1aIsTheStandardFunction) {
    // The published FNV-1a 64 test vectors: the hash must not depend on
    // the build, or nodes built differently would disagree.
    EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
    EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
    EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(Identity, NumbersLieInTheRangeAndAreDistinct) {
    std::set<std::string> texts;
    for (int i = 0; i < 500; ++i)
        texts.insert(fmt::format("set-{}", i));
    const IdentityRange range{1000, 1599}; // 600 numbers for 500 texts: collisions certain
    const Allocation a = allocate_identities(texts, range);
    ASSERT_EQ(a.numbers.size(), texts.size());
    std::set<Identity> seen;
    for (const auto& [text, id] : a.numbers) {
        EXPECT_TRUE(range.contains(id)) << id;
        EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
    }
    EXPECT_GT(a.displaced, 0u);
    EXPECT_TRUE(a.unallocated.empty());
}

TEST(Identity, CollisionGoesToTheTextThatSortsFirst) {
    // Find two texts with the same home number in a small range.
    const IdentityRange range{10, 17};
    std::string first, second;
    for (int i = 0; second.empty(); ++i)
        for (int j = 0; j < i; ++j) {
            const std::string a = fmt::format("t{}", j), b = fmt::format("t{}", i);
            if (fnv1a64(a) % range.size() == fnv1a64(b) % range.size()) {
                first = std::min(a, b);
                second = std::max(a, b);
                break;
            }
        }
    const Allocation a = allocate_identities({first, second}, range);
    const Identity home = static_cast<Identity>(range.first + fnv1a64(first) % range.size());
    EXPECT_EQ(a.numbers.at(first), home);
    EXPECT_EQ(a.numbers.at(second), home == range.last ? range.first : home + 1);
    EXPECT_EQ(a.displaced, 1u);
}

TEST(Identity, FullRangeLeavesTheLastTextsUnallocated) {
    const Allocation a = allocate_identities({"a", "b", "c"}, IdentityRange{5, 6});
    EXPECT_EQ(a.numbers.size(), 2u);
    EXPECT_EQ(a.unallocated, std::vector<std::string>{"c"});
}

TEST(Identity, CanonicalTextIsInjectiveAcrossSources) {
    // The same key=value as a pod label and as a namespace label, or a
    // value that looks like another entry, must not read the same.
    const IdentityLabels pod_label{"ns", {{"team", "red"}}, {}};
    const IdentityLabels ns_label{"ns", {}, {{"team", "red"}}};
    EXPECT_NE(pod_label.canonical_text(), ns_label.canonical_text());
    const IdentityLabels tricky{"ns", {{"a", "1;5:k8s:b=2"}}, {}};
    const IdentityLabels split{"ns", {{"a", "1"}, {"b", "2"}}, {}};
    EXPECT_NE(tricky.canonical_text(), split.canonical_text());
    EXPECT_EQ(pod_label.canonical_text(),
              (IdentityLabels{"ns", {{"team", "red"}}, {}}).canonical_text());
}

TEST(Identity, RelevantKeys) {
    const IdentityConfig defaults;
    EXPECT_TRUE(defaults.pod_label_relevant("app"));
    EXPECT_TRUE(defaults.namespace_label_relevant("kubernetes.io/metadata.name"));
    EXPECT_FALSE(defaults.pod_label_relevant("pod-template-hash"));
    EXPECT_FALSE(defaults.pod_label_relevant("controller-revision-hash"));

    IdentityConfig narrow;
    narrow.pod_label_keys = {"app", "example.com/*"};
    narrow.namespace_label_keys = {"team"};
    narrow.excluded_label_keys = {"example.com/build"};
    EXPECT_TRUE(narrow.pod_label_relevant("app"));
    EXPECT_TRUE(narrow.pod_label_relevant("example.com/team"));
    EXPECT_FALSE(narrow.pod_label_relevant("example.com/build"));
    EXPECT_FALSE(narrow.pod_label_relevant("tier"));
    EXPECT_FALSE(narrow.pod_label_relevant("team"));
    EXPECT_TRUE(narrow.namespace_label_relevant("team"));
    EXPECT_FALSE(narrow.namespace_label_relevant("app"));
    EXPECT_EQ(
        narrow.relevant_namespace_labels({{"team", "a"}, {"kubernetes.io/metadata.name", "x"}}),
        (k8s::Labels{{"team", "a"}}));
    EXPECT_EQ(narrow.relevant_pod_labels({{"app", "a"}, {"tier", "t"}, {"example.com/team", "x"}}),
              (k8s::Labels{{"app", "a"}, {"example.com/team", "x"}}));
}

k8s::Pod pod(std::string ns, std::string name, k8s::Labels labels, std::string address,
             std::string node) {
    k8s::Pod p;
    p.meta = {std::move(ns), std::move(name), std::move(labels), {}};
    p.node_name = std::move(node);
    p.phase = k8s::PodPhase::Running;
    p.ips = {*net::Address::parse(address)};
    return p;
}

TEST(Identity, EveryNodeDerivesTheSameNumbersInAnyOrder) {
    PolicyInput input;
    for (int i = 0; i < 200; ++i)
        input.pods.push_back(pod(
            fmt::format("ns{}", i % 7), fmt::format("p{}", i),
            {{"app", fmt::format("a{}", i % 13)}, {"pod-template-hash", fmt::format("{:x}", i)}},
            fmt::format("10.3.{}.{}", i / 200, i % 200 + 1), i % 2 ? "n1" : "n2"));
    IdentityConfig config;
    config.label_range = {100,
                          190}; // 91 numbers for 7*13 = 91 label sets: many collisions, full range
    const PolicyState on_n1 = compile_policy(input, "n1", config);
    std::shuffle(input.pods.begin(), input.pods.end(), std::mt19937(7));
    const PolicyState on_n2 = compile_policy(input, "n2", config);
    EXPECT_EQ(on_n1.label_identities, on_n2.label_identities);
    // pod-template-hash differs per pod but is not relevant: 7*13 identities, not 200.
    EXPECT_EQ(on_n1.label_identities.size(), 91u);
    EXPECT_TRUE(on_n1.diagnostics.empty());
    // Pods' ipcache entries agree too (host identities differ by node, by design).
    for (const auto& [prefix, entry] : on_n1.ipcache) {
        if (prefix.length() == 32) {
            EXPECT_EQ(on_n2.ipcache.at(prefix), entry) << prefix.str();
        }
    }
}

TEST(Identity, RangeExhaustionIsReportedAndThosePodsLeftOut) {
    PolicyInput input;
    input.pods.push_back(pod("a", "p1", {{"app", "x"}}, "10.0.0.1", "n"));
    input.pods.push_back(pod("a", "p2", {{"app", "y"}}, "10.0.0.2", "n"));
    IdentityConfig config;
    config.label_range = {100, 100};
    const PolicyState state = compile_policy(input, "n", config);
    EXPECT_EQ(state.label_identities.size(), 1u);
    // Both are endpoints; the one without a number is known as unmanaged.
    EXPECT_EQ(state.endpoints.size(), 2u);
    EXPECT_EQ(state.endpoints.at({"Pod", "a", "p2"}).identity, config.reserved.unmanaged);
    EXPECT_EQ(state.ipcache.at(net::Prefix::host(*net::Address::parse("10.0.0.2"))).identity,
              config.reserved.unmanaged);
    ASSERT_EQ(state.diagnostics.size(), 1u);
    EXPECT_NE(state.diagnostics[0].message.find("no label identity left in 100-100"),
              std::string::npos)
        << state.diagnostics[0].str();
}

TEST(Identity, UnusableConfigurationIsRefusedWithEveryProblem) {
    EXPECT_EQ(identity_config_problems(IdentityConfig{}), std::vector<std::string>{});
    IdentityConfig bad;
    bad.label_range = {500, 100};
    bad.cidr_range = {0x10000, 0x20000};
    bad.reserved.remote_node = bad.reserved.world;
    bad.reserved.unmanaged = 0x10001;
    bad.reserved.host = 0;
    EXPECT_EQ(
        identity_config_problems(bad),
        (std::vector<std::string>{"the label identity range 500-100 is empty or starts at 0",
                                  "reserved identity host is 0, which means any peer",
                                  "reserved identity unmanaged (65537) is inside the CIDR range",
                                  "reserved identities world and remote-node are both 2"}));
    EXPECT_THROW(compile_policy({}, "n", bad), std::invalid_argument);
    IdentityConfig overlapping;
    overlapping.cidr_range = {0x7fff00, 0x8fffff};
    EXPECT_EQ(identity_config_problems(overlapping),
              std::vector<std::string>{"the label and CIDR identity ranges overlap"});
}

} // namespace
} // namespace kpr::policy
