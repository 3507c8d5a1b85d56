// From cluster state to policy map contents on one node: the compiler's
// input gathered from the typed state (with this node's addresses, from its
// flags and its Node object, and the other Nodes'), and its
// output keyed by the endpoint ids the agent found (ifindexes). A local pod
// without an interface yet is no endpoint but keeps its ipcache entry;
// only local pods' host entries carry an endpoint id.
#include <gtest/gtest.h>

#include "kpr/sync/policy_contents.hpp"
#include "policy_reference.hpp"

namespace kpr::sync {
namespace {

using policy::testing::ClusterBuilder;

net::Address ip(const char* text) { return *net::Address::parse(text); }

TEST(PolicyContents, KeysLocalPodsByTheirInterfaceAndLeavesTheOthersInTheIpcache) {
    ClusterBuilder c;
    c.add_namespace("shop", {});
    c.add_pod("shop", "web", {{"app", "web"}}, {ip("10.244.0.10"), ip("fd00:244::10")}, "node-1");
    c.add_pod("shop", "late", {{"app", "web"}}, {ip("10.244.0.11")}, "node-1");
    c.add_pod("shop", "far", {{"app", "client"}}, {ip("10.244.1.10")}, "node-2");
    c.add_policies(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 80}]
)");
    k8s::ClusterState state;
    for (const auto& p : c.input.pods)
        state.pods.emplace(p.key(), p);
    for (const auto& n : c.input.namespaces)
        state.namespaces.emplace(n.key(), n);
    for (const auto& p : c.input.policies)
        state.network_policies.emplace(p.key(), p);
    for (const auto& [name, address] : {std::pair{"node-1", "192.168.0.2"}, std::pair{"node-2", "192.168.1.1"}}) {
        k8s::Node node{{"", name, {}, {}}, {ip(address)}};
        state.nodes.emplace(node.key(), node);
    }

    const auto input = policy_input(state, {"node-1", {ip("192.168.0.1")}});
    ASSERT_EQ(input.pods.size(), 3u);
    ASSERT_EQ(input.nodes.size(), 2u);
    const auto compiled = policy::compile_policy(input, "node-1");
    ASSERT_EQ(compiled.endpoints.size(), 2u) << "web and late are local";

    const std::uint32_t web_ifindex = 42;
    const auto contents = policy_map_contents(compiled, {{{"Pod", "shop", "web"}, web_ifindex}});

    ASSERT_EQ(contents.endpoints.size(), 1u) << "late has no interface yet";
    const auto& web = contents.endpoints.at({web_ifindex});
    EXPECT_EQ(web.flags, layout::endpoint_ingress_enforced);
    EXPECT_EQ(web.identity, compiled.endpoints.at({"Pod", "shop", "web"}).identity);
    EXPECT_EQ(contents.policies.size(), compiled.endpoints.at({"Pod", "shop", "web"}).allowed.size());
    for (const auto& [key, value] : contents.policies)
        EXPECT_EQ(key.endpoint_id, web_ifindex);

    const auto v4 = [&](const char* address) {
        return contents.ipcache4.at(policy::ipcache_key4(net::Prefix::host(ip(address))));
    };
    EXPECT_EQ(v4("10.244.0.10").endpoint_id, web_ifindex);
    EXPECT_EQ(contents.ipcache6.at(policy::ipcache_key6(net::Prefix::host(ip("fd00:244::10")))).endpoint_id,
              web_ifindex);
    EXPECT_EQ(v4("10.244.0.11").endpoint_id, 0u) << "late is in the ipcache, without an endpoint";
    EXPECT_EQ(v4("10.244.0.11").identity, web.identity) << "same labels, same identity";
    EXPECT_EQ(v4("10.244.1.10").endpoint_id, 0u) << "far is on another node";
    const policy::ReservedIdentities reserved = policy::IdentityConfig{}.reserved;
    EXPECT_EQ(v4("192.168.0.1").identity, reserved.host) << "--node-address";
    EXPECT_EQ(v4("192.168.0.2").identity, reserved.host) << "this node's Node object";
    EXPECT_EQ(v4("192.168.1.1").identity, reserved.remote_node) << "another Node";
    EXPECT_EQ(contents.ipcache4.size() + contents.ipcache6.size(), compiled.ipcache.size());
}

} // namespace
} // namespace kpr::sync
