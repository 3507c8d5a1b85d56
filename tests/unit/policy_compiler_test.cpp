// The policy compiler's output itself: what the ipcache holds for pods,
// nodes, host-network pods and policy blocks; port ranges as aligned
// blocks; named ports resolved per destination pod; selectors on labels
// that do not count towards identity; the lookup bound reached and kept;
// and the entries in their C map layouts.
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/policy/policy_map_entries.hpp"
#include "policy_reference.hpp"

namespace kpr::policy::testing {
namespace {

net::Prefix cidr(std::string_view text) {
    return *net::Prefix::parse(text);
}

TEST(PortBlocks, CoverExactlyTheRange) {
    std::mt19937 rng(3);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges = {
        {1, 65535}, {0, 65535}, {80, 80}, {75, 80}, {1024, 2047}, {65535, 65535}};
    for (int i = 0; i < 200; ++i) {
        std::uint32_t a = rng() % 65536, b = rng() % 65536;
        ranges.emplace_back(std::min(a, b), std::max(a, b));
    }
    for (const auto& [first, last] : ranges) {
        const std::vector<PortBlock> blocks =
            port_blocks(static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last));
        EXPECT_LE(blocks.size(), 30u);
        std::uint32_t next = first;
        for (const PortBlock& block : blocks) {
            EXPECT_EQ(block.first, next) << first << "-" << last;
            EXPECT_EQ(block.first & ~port_mask(block.length), 0u) << "unaligned block";
            next += 1u << (port_bits - block.length);
        }
        EXPECT_EQ(next, last + 1) << first << "-" << last;
    }
    EXPECT_EQ(port_blocks(75, 80), (std::vector<PortBlock>{{75, 16}, {76, 14}, {80, 16}}));
    EXPECT_EQ(port_blocks(0, 65535), (std::vector<PortBlock>{{0, 0}}));
}

class PolicyCompilerTest : public ::testing::Test {
  protected:
    PolicyCompilerTest() {
        c_.add_namespace("shop", {{"team", "red"}});
        c_.add_node("node-1", {ip("192.168.0.1"), ip("fd01::1")});
        c_.add_node("node-2", {ip("192.168.0.2")});
    }

    const EndpointPolicy& endpoint(const PolicyState& state, const std::string& name) {
        return state.endpoints.at({"Pod", "shop", name});
    }

    ClusterBuilder c_;
};

TEST_F(PolicyCompilerTest, IpcacheHoldsPodsNodesAndPolicyBlocks) {
    c_.add_pod("shop", "web", {{"app", "web"}}, {ip("10.0.1.5"), ip("fd00::5")}, "node-1");
    c_.add_pod("shop", "db", {{"app", "db"}}, {ip("10.0.2.7")}, "node-2");
    c_.add_pod("shop", "done", {{"app", "web"}}, {ip("10.0.1.9")}, "node-1").phase =
        k8s::PodPhase::Failed;
    c_.add_pod("shop", "agent", {{"app", "agent"}}, {ip("192.168.0.3")}, "node-2").host_network =
        true;
    c_.add_policies(network_policy("shop", "blocks", R"(
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}
)"));
    const PolicyState state = compile_policy(c_.input, "node-1");
    const ReservedIdentities reserved;
    const Identity web = state.label_identities.at(
        {"shop", {{"app", "web"}}, {{"kubernetes.io/metadata.name", "shop"}, {"team", "red"}}});
    const Identity block = state.cidr_identities.at(cidr("10.0.0.0/16"));
    const Identity except = state.cidr_identities.at(cidr("10.0.2.0/24"));
    EXPECT_NE(block, except);
    EXPECT_TRUE(IdentityConfig{}.cidr_range.contains(block));
    EXPECT_TRUE(IdentityConfig{}.label_range.contains(web));

    const Ipcache expected = {
        {cidr("0.0.0.0/0"), {reserved.world, reserved.world}},
        {cidr("::/0"), {reserved.world, reserved.world}},
        {cidr("10.0.0.0/16"), {block, block}},
        {cidr("10.0.2.0/24"), {except, except}},
        {cidr("10.0.1.5/32"), {web, block}},
        {cidr("fd00::5/128"), {web, reserved.world}},
        {cidr("10.0.2.7/32"),
         {state.label_identities.at({"shop",
                                     {{"app", "db"}},
                                     {{"kubernetes.io/metadata.name", "shop"}, {"team", "red"}}}),
          except}},
        {cidr("192.168.0.1/32"), {reserved.host, reserved.world}},
        {cidr("fd01::1/128"), {reserved.host, reserved.world}},
        {cidr("192.168.0.2/32"), {reserved.remote_node, reserved.world}},
        {cidr("192.168.0.3/32"),
         {reserved.remote_node, reserved.world}}, // host-network pod on node-2
    };
    EXPECT_EQ(state.ipcache, expected);
    // Only node-1's pod is an endpoint here; the finished one is none.
    EXPECT_EQ(state.endpoints.size(), 1u);
    EXPECT_TRUE(state.endpoints.contains({"Pod", "shop", "web"}));
    EXPECT_FALSE(endpoint(state, "web").ingress_enforced);
    EXPECT_TRUE(endpoint(state, "web").allowed.empty());
    // The longest match decides: inside the except, the except's identity.
    EXPECT_EQ(lookup_ipcache(state.ipcache, ip("10.0.2.99"))->identity, except);
    EXPECT_EQ(lookup_ipcache(state.ipcache, ip("10.0.3.1"))->identity, block);
    EXPECT_EQ(lookup_ipcache(state.ipcache, ip("8.8.8.8"))->identity, reserved.world);
}

TEST_F(PolicyCompilerTest, AddressClaimedTwiceIsReportedAndTheFirstKeepsIt) {
    c_.add_pod("shop", "a", {{"app", "a"}}, {ip("10.0.0.1")}, "node-1");
    c_.add_pod("shop", "b", {{"app", "b"}}, {ip("10.0.0.1")}, "node-1");
    c_.add_pod("shop", "c", {{"app", "c"}}, {ip("192.168.0.2")}, "node-1");
    const PolicyState state = compile_policy(c_.input, "node-1");
    std::vector<std::string> messages;
    for (const Diagnostic& d : state.diagnostics)
        messages.push_back(d.object + ": " + d.message);
    EXPECT_EQ(messages,
              (std::vector<std::string>{
                  "Pod shop/b: address 10.0.0.1 is also Pod shop/a's; Pod shop/a keeps it",
                  "Pod shop/c: address 192.168.0.2 is also Node node-2's; Node node-2 keeps it"}));
    EXPECT_EQ(state.ipcache.at(cidr("10.0.0.1/32")).identity, endpoint(state, "a").identity);
}

TEST_F(PolicyCompilerTest, PortRangeBecomesBlocksAndTheEndpointNamesTheirLengths) {
    c_.add_pod("shop", "web", {{"app", "web"}}, {ip("10.0.0.1")}, "node-1");
    c_.add_policies(network_policy("shop", "range", R"(
  podSelector: {}
  ingress:
  - ports:
    - {port: 75, endPort: 80}
    - {protocol: UDP}
)"));
    const PolicyState state = compile_policy(c_.input, "node-1");
    const EndpointPolicy& web = endpoint(state, "web");
    const Identity host = ReservedIdentities{}.host;
    EXPECT_EQ(web.allowed, (std::set<PolicyKey>{
                               {any_identity, Direction::ingress, tcp, {75, 16}},
                               {any_identity, Direction::ingress, tcp, {76, 14}},
                               {any_identity, Direction::ingress, tcp, {80, 16}},
                               {any_identity, Direction::ingress, udp, {0, 0}},
                               {host, Direction::ingress, any_protocol, {0, 0}},
                           }));
    EXPECT_TRUE(web.ingress_enforced);
    EXPECT_FALSE(web.egress_enforced);
    EXPECT_EQ(web.port_prefix_lengths(Direction::ingress), (1u << 16) | (1u << 14) | 1u);
    EXPECT_EQ(web.port_prefix_lengths(Direction::egress), 0u);
}

TEST_F(PolicyCompilerTest, NamedPortsResolvePerDestinationPod) {
    // Same labels, so one identity, but "http" is 80 on one and 8080 on the other.
    c_.add_pod("shop", "old", {{"app", "api"}}, {ip("10.0.0.1"), ip("fd00::1")}, "node-1",
               {{"http", 80, k8s::Protocol::TCP}});
    c_.add_pod("shop", "new", {{"app", "api"}}, {ip("10.0.0.2")}, "node-2",
               {{"http", 8080, k8s::Protocol::TCP}});
    c_.add_pod("shop", "client", {{"app", "client"}}, {ip("10.0.0.3")}, "node-1");
    c_.add_policies(network_policy("shop", "client-to-api-http", R"(
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector: {matchLabels: {app: api}}
    ports:
    - port: http
)") + network_policy("shop", "api-http-in", R"(
  podSelector: {matchLabels: {app: api}}
  ingress:
  - ports:
    - port: http
)"));
    const Compiled compiled(c_.input);
    EXPECT_TRUE(compiled.allows(ip("10.0.0.3"), ip("10.0.0.1"), {tcp, 80}).first);
    EXPECT_FALSE(compiled.allows(ip("10.0.0.3"), ip("10.0.0.1"), {tcp, 8080}).first);
    EXPECT_TRUE(compiled.allows(ip("10.0.0.3"), ip("10.0.0.2"), {tcp, 8080}).first);
    EXPECT_FALSE(compiled.allows(ip("10.0.0.3"), ip("10.0.0.2"), {tcp, 80}).first);

    // Egress: the api pods' addresses got CIDR identities of their own.
    const PolicyState& node1 = compiled.state("node-1");
    const Identity old4 = node1.cidr_identities.at(cidr("10.0.0.1/32"));
    const Identity new4 = node1.cidr_identities.at(cidr("10.0.0.2/32"));
    EXPECT_TRUE(node1.cidr_identities.contains(cidr("fd00::1/128")));
    EXPECT_FALSE(node1.cidr_identities.contains(cidr("10.0.0.3/32")));
    const EndpointPolicy& client = endpoint(node1, "client");
    EXPECT_TRUE(client.allowed.contains({old4, Direction::egress, tcp, {80, 16}}));
    EXPECT_TRUE(client.allowed.contains({new4, Direction::egress, tcp, {8080, 16}}));
    EXPECT_FALSE(client.allowed.contains({new4, Direction::egress, tcp, {80, 16}}));
    // Ingress: each endpoint resolves the name on itself.
    EXPECT_TRUE(
        endpoint(node1, "old").allowed.contains({any_identity, Direction::ingress, tcp, {80, 16}}));
    const EndpointPolicy& fresh = endpoint(compiled.state("node-2"), "new");
    EXPECT_TRUE(fresh.allowed.contains({any_identity, Direction::ingress, tcp, {8080, 16}}));
    EXPECT_FALSE(fresh.allowed.contains({any_identity, Direction::ingress, tcp, {80, 16}}));
}

TEST_F(PolicyCompilerTest, NamedPortAllPodsAgreeOnStaysPerIdentity) {
    c_.add_pod("shop", "a1", {{"app", "api"}}, {ip("10.0.0.1")}, "node-1",
               {{"http", 80, k8s::Protocol::TCP}});
    c_.add_pod("shop", "a2", {{"app", "api"}}, {ip("10.0.0.2")}, "node-1",
               {{"http", 80, k8s::Protocol::TCP}});
    c_.add_pod("shop", "client", {{"app", "client"}}, {ip("10.0.0.3")}, "node-1");
    c_.add_policies(network_policy("shop", "client-out", R"(
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: http}]
)"));
    const PolicyState state = compile_policy(c_.input, "node-1");
    EXPECT_TRUE(state.cidr_identities.empty());
    const Identity api = endpoint(state, "a1").identity;
    EXPECT_TRUE(
        endpoint(state, "client").allowed.contains({api, Direction::egress, tcp, {80, 16}}));
}

TEST_F(PolicyCompilerTest, SelectorOnIrrelevantLabelIsReportedAndMatchesNothing) {
    c_.add_pod("shop", "web", {{"app", "web"}}, {ip("10.0.0.1")}, "node-1");
    c_.add_pod("shop", "canary", {{"app", "web"}, {"track", "canary"}}, {ip("10.0.0.2")}, "node-1");
    c_.add_policies(network_policy("shop", "from-canary", R"(
  podSelector: {}
  ingress:
  - from:
    - podSelector: {matchLabels: {track: canary}}
)"));
    IdentityConfig config;
    config.pod_label_keys = {"app"};
    const PolicyState state = compile_policy(c_.input, "node-1", config);
    ASSERT_EQ(state.diagnostics.size(), 1u);
    EXPECT_EQ(state.diagnostics[0].str(), "policies.yaml:1:1: NetworkPolicy shop/from-canary: "
                                          "spec.ingress[0].from[0].podSelector: label key "
                                          "\"track\" is not identity-relevant (see the identity "
                                          "configuration), so this peer is compiled "
                                          "to match nothing");
    // Both pods share one identity; the policy still selects the subject by
    // all its labels, but allows no peer.
    EXPECT_EQ(endpoint(state, "web").identity, endpoint(state, "canary").identity);
    EXPECT_EQ(endpoint(state, "web").allowed,
              (std::set<PolicyKey>{
                  {ReservedIdentities{}.host, Direction::ingress, any_protocol, {0, 0}}}));
}

TEST_F(PolicyCompilerTest, WorstCaseLookupsReachTheBoundAndNoMore) {
    // A denied TCP packet from a pod (label identity, and world as CIDR
    // identity) to an endpoint using every port prefix length: every
    // lookup of the sequence is made.
    c_.add_pod("shop", "server", {{"app", "server"}}, {ip("10.0.0.1")}, "node-1");
    c_.add_pod("shop", "client", {{"app", "client"}}, {ip("10.9.0.1")}, "node-1");
    c_.add_policies(network_policy("shop", "wide", R"(
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: server}}}]
    ports: [{port: 1, endPort: 65535}, {protocol: TCP}]
  - from: [{ipBlock: {cidr: 10.8.0.0/16}}]
)"));
    const PolicyState state = compile_policy(c_.input, "node-1");
    const EndpointPolicy& server = endpoint(state, "server");
    EXPECT_EQ(server.port_prefix_lengths(Direction::ingress), 0x1ffffu); // lengths 0-16
    const PolicyDecision worst =
        decide_packet(state, server, Direction::ingress, ip("10.9.0.1"), tcp, 443);
    EXPECT_FALSE(worst.allowed);
    EXPECT_EQ(worst.lookups, max_policy_lookups);
    EXPECT_EQ(max_policy_lookups, 56);
    // An outside address is its CIDR identity: one peer fewer to try.
    const PolicyDecision outside =
        decide_packet(state, server, Direction::ingress, ip("8.8.8.8"), tcp, 443);
    EXPECT_FALSE(outside.allowed);
    EXPECT_EQ(outside.lookups, 2 + 2 * 18);
    // ICMP has no ports: the any-protocol key only.
    EXPECT_EQ(decide_packet(state, server, Direction::ingress, ip("8.8.8.8"), icmp, 0).lookups,
              2 + 2);
    const PolicyDecision inside =
        decide_packet(state, server, Direction::ingress, ip("10.8.0.1"), udp, 9);
    EXPECT_TRUE(inside.allowed);
    EXPECT_EQ(inside.lookups, 3);
}

TEST_F(PolicyCompilerTest, EntriesInTheirMapLayouts) {
    c_.add_pod("shop", "web", {{"app", "web"}}, {ip("10.0.0.1"), ip("fd00::1")}, "node-1");
    c_.add_policies(network_policy("shop", "web", R"(
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 8080, protocol: SCTP}]
)"));
    const PolicyState state = compile_policy(c_.input, "node-1");
    const EndpointPolicy& web = endpoint(state, "web");
    const layout::EndpointValue value = endpoint_value(web, 9);
    EXPECT_EQ(value.identity, web.identity);
    EXPECT_EQ(value.flags, layout::endpoint_egress_enforced);
    EXPECT_EQ(value.egress_port_prefix_lengths, 1u << 16);
    EXPECT_EQ(value.ingress_port_prefix_lengths, 0u);
    EXPECT_EQ(value.policy_revision, 9u);

    const layout::PolicyKey key =
        policy_map_key(7, {any_identity, Direction::egress, sctp, {8080, 16}});
    EXPECT_EQ(key.endpoint_id, 7u);
    EXPECT_EQ(key.peer_identity, 0u);
    EXPECT_EQ(key.direction, 1u);
    EXPECT_EQ(key.proto, 132u);
    EXPECT_EQ(key.port.raw, htons(8080)); // network order, as the packet carries it
    EXPECT_EQ(key.port_prefix_len, 16u);
    EXPECT_EQ(policy_map_value().verdict, 1u);

    const layout::IpcacheKey4 k4 = ipcache_key4(cidr("10.1.2.0/24"));
    EXPECT_EQ(k4.prefix_len, 24u);
    EXPECT_EQ(k4.address.raw, inet_addr("10.1.2.0"));
    const layout::IpcacheKey6 k6 = ipcache_key6(cidr("fd00:1::/32"));
    EXPECT_EQ(k6.prefix_len, 32u);
    EXPECT_EQ(k6.address[0].raw, htonl(0xfd000001u));
    EXPECT_EQ(ipcache_value({5, 6}, 12), (layout::IpcacheValue{5, 6, 12}));
}

TEST(PolicyLayouts, DescribeMatchesTheCompiler) {
    const auto key = layout::describe<layout::PolicyKey>();
    EXPECT_EQ(key.c_name, "kpr_policy_key");
    EXPECT_EQ(key.size, 16u);
    EXPECT_EQ(key.fields[4].name, "port");
    EXPECT_EQ(key.fields[4].c_type, "__be16");
    EXPECT_EQ(key.fields[4].offset, offsetof(layout::PolicyKey, port));
    EXPECT_EQ(key.fields[5].offset, offsetof(layout::PolicyKey, port_prefix_len));
    const auto ipcache6 = layout::describe<layout::IpcacheKey6>();
    EXPECT_EQ(ipcache6.size, 20u);
    EXPECT_EQ(ipcache6.fields[0].name, "prefix_len"); // the LPM trie's key starts with it
    EXPECT_EQ(ipcache6.fields[1].extent, 4u);
    const auto endpoint = layout::describe<layout::EndpointValue>();
    EXPECT_EQ(endpoint.size, 20u);
    EXPECT_EQ(endpoint.fields[3].offset, offsetof(layout::EndpointValue, policy_revision));
    EXPECT_EQ(endpoint.fields[4].offset, offsetof(layout::EndpointValue, flags));
}

} // namespace
} // namespace kpr::policy::testing
