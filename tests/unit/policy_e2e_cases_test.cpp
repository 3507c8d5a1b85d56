// The upstream Kubernetes network-policy e2e cases (test/e2e/network/netpol),
// on the same model cluster: namespaces x, y, z, each with pods a, b, c
// serving ports 80 and 81 over TCP, UDP and SCTP with named ports
// serve-<port>-<protocol>. Each case checks the compiled maps, through the
// datapath's lookup sequence, against the reference evaluator on every
// pair of addresses and every probe, and a few hand-read expectations
// against both.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "policy_reference.hpp"

namespace kpr::policy::testing {
namespace {

const std::vector<Probe> e2e_probes = {{tcp, 80},  {tcp, 81},  {udp, 80}, {udp, 81},
                                       {sctp, 80}, {sctp, 81}, {icmp, 0}};

struct Expectation {
    std::string from; // "x/a", "node-1" or an address
    std::string to;
    Probe probe;
    bool allowed;
};

class NetpolE2E : public ::testing::Test {
  protected:
    void SetUp() override {
        const std::vector<std::string> namespaces = {"x", "y", "z"};
        const std::vector<std::string> pods = {"a", "b", "c"};
        for (std::size_t n = 0; n < namespaces.size(); ++n) {
            cluster_.add_namespace(namespaces[n], {{"ns", namespaces[n]}});
            for (std::size_t p = 0; p < pods.size(); ++p) {
                std::vector<k8s::ContainerPort> ports;
                for (std::uint16_t port : {80, 81})
                    for (k8s::Protocol protocol :
                         {k8s::Protocol::TCP, k8s::Protocol::UDP, k8s::Protocol::SCTP}) {
                        std::string name =
                            fmt::format("serve-{}-{}", port, k8s::to_string(protocol));
                        for (char& c : name)
                            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                        ports.push_back({name, port, protocol});
                    }
                cluster_.add_pod(namespaces[n], pods[p], {{"pod", pods[p]}},
                                 {ip(fmt::format("10.1.{}.{}", n + 1, p + 1)),
                                  ip(fmt::format("fd00:1:{}::{}", n + 1, p + 1))},
                                 p == 1 ? "node-2" : "node-1", std::move(ports));
            }
        }
        cluster_.add_node("node-1", {ip("192.168.0.1"), ip("fd01::1")});
        cluster_.add_node("node-2", {ip("192.168.0.2"), ip("fd01::2")});
    }

    net::Address address_of(const std::string& name) const {
        if (name.starts_with("node-"))
            return ip(name == "node-1" ? "192.168.0.1" : "192.168.0.2");
        if (name.find('/') == std::string::npos)
            return ip(name);
        for (const k8s::Pod& pod : cluster_.input.pods)
            if (pod.meta.namespace_ + "/" + pod.meta.name == name)
                return pod.ips.front();
        ADD_FAILURE() << "no pod " << name;
        return ip("0.0.0.0");
    }

    // The whole matrix against the reference, then the hand-read facts.
    void verify(std::string_view policies, const std::vector<Expectation>& expectations) {
        cluster_.add_policies(policies);
        check(expectations);
    }

    // The same for the cluster as it stands (after an update).
    void check(const std::vector<Expectation>& expectations) {
        const CrossCheck check =
            cross_check(cluster_.input, {ip("203.0.113.5"), ip("2001:db8::5")}, e2e_probes);
        EXPECT_EQ(check.mismatches, 0u) << check.report;
        EXPECT_TRUE(check.nodes_agree);
        EXPECT_LE(check.max_lookups, max_policy_lookups);
        EXPECT_GT(check.packets, 0u);
        const Reference reference(cluster_.input);
        const Compiled compiled(cluster_.input);
        for (const Expectation& e : expectations) {
            const net::Address from = address_of(e.from);
            const net::Address to = address_of(e.to);
            EXPECT_EQ(reference.allows(from, to, e.probe), e.allowed)
                << "reference: " << e.from << " -> " << e.to << " " << e.probe.str();
            EXPECT_EQ(compiled.allows(from, to, e.probe).first, e.allowed)
                << "compiled: " << e.from << " -> " << e.to << " " << e.probe.str();
        }
    }

    ClusterBuilder cluster_;
};

constexpr Probe tcp80{tcp, 80}, tcp81{tcp, 81}, udp80{udp, 80}, udp81{udp, 81}, sctp80{sctp, 80},
    sctp81{sctp, 81}, ping{icmp, 0};

TEST_F(NetpolE2E, NoPolicyAllowsEverything) {
    verify("", {{"x/a", "y/b", tcp80, true},
                {"203.0.113.5", "z/c", udp81, true},
                {"x/a", "x/b", ping, true}});
}

TEST_F(NetpolE2E, DefaultDenyIngress) {
    verify(network_policy("x", "deny-ingress", R"(
  podSelector: {}
  policyTypes: [Ingress]
)"),
           {{"y/a", "x/a", tcp80, false},
            {"x/b", "x/a", udp81, false},
            {"x/a", "y/a", tcp80, true},    // egress unaffected
            {"node-1", "x/a", tcp80, true}, // a pod's own node always reaches it
            {"node-2", "x/a", tcp80, false},
            {"x/a", "x/a", tcp80, true}}); // nor can a pod block itself
}

TEST_F(NetpolE2E, DefaultDenyAll) {
    verify(network_policy("x", "deny-all", R"(
  podSelector: {}
  policyTypes: [Ingress, Egress]
)"),
           {{"x/a", "y/a", tcp80, false},
            {"y/a", "x/a", tcp80, false},
            {"y/a", "y/b", tcp80, true},
            {"x/a", "node-1", tcp80, true},
            {"x/a", "203.0.113.5", tcp80, false}});
}

TEST_F(NetpolE2E, AllowFromPodsInServerNamespaceByPodSelector) {
    verify(network_policy("x", "x-a-from-b", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
)"),
           {{"x/b", "x/a", tcp80, true},
            {"x/c", "x/a", tcp80, false},
            {"y/b", "x/a", tcp80, false},
            {"x/b", "x/a", ping, true},
            {"x/c", "x/b", tcp80, true}});
}

TEST_F(NetpolE2E, AllowFromAllNamespaces) {
    verify(network_policy("x", "x-a-from-all-ns", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {}
)"),
           {{"z/c", "x/a", udp80, true},
            {"203.0.113.5", "x/a", tcp80, false},
            {"node-2", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, AllowFromOtherNamespaceByNamespaceSelector) {
    verify(
        network_policy("x", "x-a-from-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
)"),
        {{"y/c", "x/a", tcp80, true}, {"x/b", "x/a", tcp80, false}, {"z/a", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, NamespaceSelectorOnDefaultNameLabel) {
    verify(network_policy("x", "x-a-from-y-by-name", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: In, values: [y]}
)"),
           {{"y/c", "x/a", tcp80, true}, {"z/c", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, PodSelectorWithMatchExpressions) {
    verify(network_policy("x", "x-a-from-b-expr", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - {key: pod, operator: In, values: [b]}
)"),
           {{"x/b", "x/a", tcp80, true}, {"x/c", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, NamespaceSelectorWithMatchExpressionsNotIn) {
    verify(
        network_policy("x", "x-a-not-from-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - {key: ns, operator: NotIn, values: [y]}
)"),
        {{"z/b", "x/a", tcp80, true}, {"x/b", "x/a", tcp80, true}, {"y/b", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, PodSelectorOrNamespaceSelector) {
    verify(network_policy("x", "x-a-from-b-or-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    - podSelector: {matchLabels: {pod: b}}
)"),
           {{"y/a", "x/a", tcp80, true},
            {"x/b", "x/a", tcp80, true},
            {"x/c", "x/a", tcp80, false},
            {"z/b", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, PodSelectorAndNamespaceSelector) {
    verify(network_policy("x", "x-a-from-b-in-y-or-z", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - {key: ns, operator: NotIn, values: [x]}
      podSelector:
        matchExpressions:
        - {key: pod, operator: In, values: [b, c]}
)"),
           {{"y/b", "x/a", tcp80, true},
            {"z/c", "x/a", tcp80, true},
            {"y/a", "x/a", tcp80, false},
            {"x/b", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, AnyPodSelectorInOwnNamespace) {
    verify(network_policy("x", "x-a-from-x", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {}
)"),
           {{"x/c", "x/a", tcp80, true}, {"y/c", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, Ports) {
    verify(network_policy("x", "x-a-port-81-from-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports:
    - {port: 81, protocol: TCP}
)"),
           {{"y/a", "x/a", tcp81, true},
            {"y/a", "x/a", tcp80, false},
            {"y/a", "x/a", udp81, false},
            {"y/a", "x/a", ping, false}});
}

TEST_F(NetpolE2E, EndPortRange) {
    verify(network_policy("x", "x-a-range", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports:
    - {port: 75, endPort: 80, protocol: TCP}
)"),
           {{"y/a", "x/a", tcp80, true},
            {"y/a", "x/a", tcp81, false},
            {"203.0.113.5", "x/a", tcp80, true}});
}

TEST_F(NetpolE2E, EgressEndPortRangeAndSecondPolicy) {
    verify(network_policy("x", "x-a-egress-range", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {}
    ports:
    - {port: 81, endPort: 1024, protocol: UDP}
)") + network_policy("x", "x-a-egress-tcp80", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - ports:
    - {port: 80}
)"),
           {{"x/a", "z/b", udp81, true},
            {"x/a", "z/b", udp80, false},
            {"x/a", "z/b", tcp80, true},
            {"x/a", "203.0.113.5", udp81, false}});
}

TEST_F(NetpolE2E, StackedPoliciesWithOverlappingSelectors) {
    verify(network_policy("x", "allow-81-from-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports: [{port: 81}]
)") + network_policy("x", "allow-80-from-y", R"(
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports: [{port: 80}]
)"),
           {{"y/a", "x/a", tcp80, true},
            {"y/a", "x/a", tcp81, true},
            {"y/a", "x/b", tcp81, false},
            {"y/a", "x/b", tcp80, true},
            {"z/a", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, AllowAllIngress) {
    verify(network_policy("x", "allow-all", R"(
  podSelector: {}
  ingress:
  - {}
)"),
           {{"203.0.113.5", "x/a", sctp81, true}, {"z/c", "x/b", ping, true}});
}

TEST_F(NetpolE2E, IngressOnOneNamedPort) {
    verify(
        network_policy("x", "named-81-udp", R"(
  podSelector: {}
  ingress:
  - ports:
    - {port: serve-81-udp, protocol: UDP}
)"),
        {{"y/a", "x/a", udp81, true}, {"y/a", "x/a", tcp81, false}, {"y/a", "x/a", udp80, false}});
}

TEST_F(NetpolE2E, IngressFromNamespaceOnNamedPort) {
    verify(
        network_policy("x", "named-80-from-y", R"(
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports:
    - {port: serve-80-tcp, protocol: TCP}
)"),
        {{"y/a", "x/a", tcp80, true}, {"z/a", "x/a", tcp80, false}, {"y/a", "x/a", tcp81, false}});
}

TEST_F(NetpolE2E, EgressOnOneNamedPort) {
    verify(network_policy("x", "egress-named-80", R"(
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports:
    - {port: serve-80-udp, protocol: UDP}
)"),
           {{"x/a", "y/b", udp80, true},
            {"x/a", "y/b", udp81, false},
            // a named port resolves on pods only: no outside address has it
            {"x/a", "203.0.113.5", udp80, false}});
}

TEST_F(NetpolE2E, DenyEgressByPodSelector) {
    verify(network_policy("x", "x-a-egress-to-b", R"(
  podSelector: {matchLabels: {pod: a}}
  egress:
  - to:
    - podSelector: {matchLabels: {pod: b}}
  policyTypes: [Egress]
)"),
           {{"x/a", "x/b", tcp80, true},
            {"x/a", "x/c", tcp80, false},
            {"x/a", "y/b", tcp80, false},
            {"x/b", "x/c", tcp80, true}});
}

TEST_F(NetpolE2E, ClientSideEgressDenyBeatsServerAllow) {
    verify(network_policy("x", "x-a-no-egress", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
)") + network_policy("z", "z-b-from-x-a", R"(
  podSelector: {matchLabels: {pod: b}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: x}}
      podSelector: {matchLabels: {pod: a}}
)"),
           {{"x/a", "z/b", tcp80, false},
            {"x/b", "z/b", tcp80, false},
            {"x/a", "node-1", tcp80, true}});
}

TEST_F(NetpolE2E, EgressToOtherNamespacePodBySelectors) {
    verify(
        network_policy("x", "x-a-egress-to-y-b", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchLabels: {pod: b}}
)"),
        {{"x/a", "y/b", tcp80, true}, {"x/a", "y/a", tcp80, false}, {"x/a", "z/b", tcp80, false}});
}

TEST_F(NetpolE2E, AllowAllTakesPrecedenceOverNarrowIngressAndEgress) {
    verify(network_policy("x", "narrow", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports: [{port: 80}]
  egress:
  - ports: [{port: 80}]
)") + network_policy("x", "allow-all", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{}]
)"),
           {{"y/a", "x/a", tcp81, true}, {"x/a", "y/a", udp81, true}});
}

TEST_F(NetpolE2E, EgressToServerInCidrBlock) {
    verify(network_policy("x", "x-a-egress-cidr", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.1.2.2/32}
)"),
           {{"x/a", "y/b", tcp80, true},
            {"x/a", "y/c", tcp80, false},
            {"x/a", "203.0.113.5", tcp80, false}});
}

TEST_F(NetpolE2E, CidrExceptClause) {
    verify(network_policy("x", "x-a-egress-except", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:
        cidr: 10.1.0.0/16
        except: [10.1.2.2/32]
)"),
           {{"x/a", "y/a", tcp80, true},
            {"x/a", "y/b", tcp80, false},
            {"x/a", "fd00:1:2::1", tcp80, false}});
}

TEST_F(NetpolE2E, AddressInBothCidrAndExceptAllowedByAnotherPolicy) {
    verify(network_policy("x", "except-y-b", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.1.0.0/16, except: [10.1.2.2/32]}
)") + network_policy("x", "allow-y-b", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.1.2.2/32}
)"),
           {{"x/a", "y/b", tcp80, true}, {"x/a", "y/c", tcp80, true}});
}

TEST_F(NetpolE2E, IngressFromCidrWithExceptAndWorld) {
    verify(network_policy("y", "from-world-but-x", R"(
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 0.0.0.0/0, except: [10.1.1.0/24]}
    - ipBlock: {cidr: "::/0"}
)"),
           {{"203.0.113.5", "y/a", tcp80, true},
            {"x/a", "y/a", tcp80, false},
            {"z/a", "y/a", tcp80, true},
            {"fd00:1:1::1", "fd00:1:2::1", tcp80, true}});
}

TEST_F(NetpolE2E, IngressAndEgressControlledIndependently) {
    verify(
        network_policy("x", "x-a-egress-only", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector: {matchLabels: {pod: b}}
)") + network_policy("x", "x-b-ingress-deny", R"(
  podSelector: {matchLabels: {pod: b}}
  policyTypes: [Ingress]
)"),
        {{"x/a", "x/b", tcp80, false}, {"x/c", "x/a", tcp80, true}, {"x/a", "x/c", tcp80, false}});
}

TEST_F(NetpolE2E, SctpIsNotTcp) {
    verify(network_policy("x", "sctp-80", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports: [{port: 80, protocol: SCTP}]
)"),
           {{"y/a", "x/a", sctp80, true},
            {"y/a", "x/a", tcp80, false},
            {"y/a", "x/a", sctp81, false}});
}

TEST_F(NetpolE2E, UdpOnlyDeniesTcp) {
    verify(network_policy("x", "udp-81", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports: [{port: 81, protocol: UDP}]
)"),
           {{"y/a", "x/a", udp81, true}, {"y/a", "x/a", tcp81, false}});
}

TEST_F(NetpolE2E, AnyPortOnOneProtocol) {
    verify(network_policy("x", "any-udp", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports: [{protocol: UDP}]
)"),
           {{"y/a", "x/a", udp80, true},
            {"y/a", "x/a", udp81, true},
            {"y/a", "x/a", tcp80, false},
            {"y/a", "x/a", ping, false}});
}

TEST_F(NetpolE2E, PolicyInAnotherNamespaceSelectsNothingHere) {
    verify(network_policy("z", "deny-all-in-z", R"(
  podSelector: {}
  policyTypes: [Ingress]
)"),
           {{"y/a", "x/a", tcp80, true}, {"y/a", "z/a", tcp80, false}});
}

TEST_F(NetpolE2E, AllIpv4AddressesLeaveIpv6Out) {
    verify(network_policy("y", "from-all-ipv4", R"(
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 0.0.0.0/0}
)"),
           {{"203.0.113.5", "y/a", tcp80, true},
            {"x/a", "y/a", tcp80, true},
            {"2001:db8::5", "fd00:1:2::1", tcp80, false},
            {"fd00:1:1::1", "fd00:1:2::1", tcp80, false}});
}

// Updates: the compiler is a function of the cluster state, so an update
// is a compile of the new state; these check that label changes move pods
// and namespaces in and out of policies as the upstream cases expect.
TEST_F(NetpolE2E, IngressFromUpdatedNamespace) {
    verify(network_policy("x", "from-ns2-updated", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns2: updated}}
)"),
           {{"y/a", "x/a", tcp80, false}});
    for (k8s::Namespace& ns : cluster_.input.namespaces)
        if (ns.meta.name == "y")
            ns.meta.labels["ns2"] = "updated";
    check({{"y/a", "x/a", tcp80, true}, {"z/a", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, IngressFromUpdatedPodAndDenyToUpdatedPod) {
    verify(network_policy("x", "from-b-updated", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b, pod2: updated}}
)"),
           {{"x/b", "x/a", tcp80, false}});
    for (k8s::Pod& pod : cluster_.input.pods)
        if (pod.meta.namespace_ == "x" && pod.meta.name == "b")
            pod.meta.labels["pod2"] = "updated";
    check({{"x/b", "x/a", tcp80, true}});
    // x/c becomes selected by the policy once it is labelled pod=a.
    check({{"y/a", "x/c", tcp80, true}});
    for (k8s::Pod& pod : cluster_.input.pods)
        if (pod.meta.namespace_ == "x" && pod.meta.name == "c")
            pod.meta.labels["pod"] = "a";
    check({{"y/a", "x/c", tcp80, false}, {"x/b", "x/c", tcp80, true}});
}

TEST_F(NetpolE2E, StopsEnforcingOnceDeleted) {
    verify(network_policy("x", "deny-all", R"(
  podSelector: {}
  policyTypes: [Ingress, Egress]
)"),
           {{"x/a", "y/a", tcp80, false}});
    cluster_.input.policies.clear();
    check({{"x/a", "y/a", tcp80, true}, {"y/a", "x/a", tcp80, true}});
}

} // namespace
} // namespace kpr::policy::testing
