// The upstream Kubernetes network-policy e2e cases (test/e2e/network/netpol),
// on the same model cluster: namespaces x, y, z, each with pods a, b, c
// serving ports 80 and 81 over TCP, UDP and SCTP with named ports
// serve-<port>-<protocol>. Each case checks the compiled maps, through the
// datapath's lookup sequence, against the reference evaluator on every
// pair of addresses and every probe, and a few hand-read expectations
// against both. The policies of the cases the kernel policy matrix runs too
// come from tests/data/netpol (netpol_cases.hpp); the rest are written here.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "netpol_cases.hpp"
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

    // A node's, a pod's (IPv4 or IPv6) or a literal address.
    net::Address address_of(const std::string& name, bool ipv6 = false) const {
        if (name.starts_with("node-"))
            return ip(name == "node-1" ? "192.168.0.1" : "192.168.0.2");
        if (name.find('/') == std::string::npos)
            return ip(name);
        for (const k8s::Pod& pod : cluster_.input.pods)
            if (pod.meta.namespace_ + "/" + pod.meta.name == name)
                return pod.ips.at(ipv6 ? 1 : 0);
        ADD_FAILURE() << "no pod " << name;
        return ip("0.0.0.0");
    }

    // A shared case's policies, its ipBlocks naming this cluster's addresses.
    std::string upstream(std::string_view name) const {
        const CaseAddresses addresses{
            [this](std::string_view pod, bool ipv6) {
                return address_of(std::string(pod), ipv6).str();
            },
            "10.1.0.0/16", "fd00:1::/32"};
        return netpol_case(name, addresses);
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
    verify(upstream("DefaultDenyIngress"),
           {{"y/a", "x/a", tcp80, false},
            {"x/b", "x/a", udp81, false},
            {"x/a", "y/a", tcp80, true},    // egress unaffected
            {"node-1", "x/a", tcp80, true}, // a pod's own node always reaches it
            {"node-2", "x/a", tcp80, false},
            {"x/a", "x/a", tcp80, true}}); // nor can a pod block itself
}

TEST_F(NetpolE2E, DefaultDenyAll) {
    verify(upstream("DefaultDenyAll"),
           {{"x/a", "y/a", tcp80, false},
            {"y/a", "x/a", tcp80, false},
            {"y/a", "y/b", tcp80, true},
            {"x/a", "node-1", tcp80, true},
            {"x/a", "203.0.113.5", tcp80, false}});
}

TEST_F(NetpolE2E, AllowFromPodsInServerNamespaceByPodSelector) {
    verify(upstream("AllowFromPodLabels"),
           {{"x/b", "x/a", tcp80, true},
            {"x/c", "x/a", tcp80, false},
            {"y/b", "x/a", tcp80, false},
            {"x/b", "x/a", ping, true},
            {"x/c", "x/b", tcp80, true}});
}

TEST_F(NetpolE2E, AllowFromAllNamespaces) {
    verify(upstream("AllowFromAllNamespaces"),
           {{"z/c", "x/a", udp80, true},
            {"203.0.113.5", "x/a", tcp80, false},
            {"node-2", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, AllowFromOtherNamespaceByNamespaceSelector) {
    verify(upstream("AllowFromNamespace"),
        {{"y/c", "x/a", tcp80, true}, {"x/b", "x/a", tcp80, false}, {"z/a", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, NamespaceSelectorOnDefaultNameLabel) {
    verify(upstream("AllowFromNamespaceByDefaultNameLabel"),
           {{"y/c", "x/a", tcp80, true}, {"z/c", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, PodSelectorWithMatchExpressions) {
    verify(upstream("AllowFromPodLabelsByExpression"),
           {{"x/b", "x/a", tcp80, true}, {"x/c", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, NamespaceSelectorWithMatchExpressionsNotIn) {
    verify(upstream("AllowFromNamespacesNotIn"),
        {{"z/b", "x/a", tcp80, true}, {"x/b", "x/a", tcp80, true}, {"y/b", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, PodSelectorOrNamespaceSelector) {
    verify(upstream("AllowFromPodLabelsOrNamespace"),
           {{"y/a", "x/a", tcp80, true},
            {"x/b", "x/a", tcp80, true},
            {"x/c", "x/a", tcp80, false},
            {"z/b", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, PodSelectorAndNamespaceSelector) {
    verify(upstream("AllowFromPodLabelsAndNamespace"),
           {{"y/b", "x/a", tcp80, true},
            {"z/c", "x/a", tcp80, true},
            {"y/a", "x/a", tcp80, false},
            {"x/b", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, AnyPodSelectorInOwnNamespace) {
    verify(upstream("AllowFromAnyPodInNamespace"),
           {{"x/c", "x/a", tcp80, true}, {"y/c", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, Ports) {
    verify(upstream("Ports"),
           {{"y/a", "x/a", tcp81, true},
            {"y/a", "x/a", tcp80, false},
            {"y/a", "x/a", udp81, false},
            {"y/a", "x/a", ping, false}});
}

TEST_F(NetpolE2E, EndPortRange) {
    verify(upstream("EndPortRanges"),
           {{"y/a", "x/a", tcp80, true},
            {"y/a", "x/a", tcp81, false},
            {"y/a", "x/a", udp81, true},
            {"y/a", "x/a", udp80, false},
            {"203.0.113.5", "x/a", tcp80, true}});
}

TEST_F(NetpolE2E, EgressEndPortRangeAndSecondPolicy) {
    verify(upstream("EgressEndPortRangeAndSecondPolicy"),
           {{"x/a", "z/b", udp81, true},
            {"x/a", "z/b", udp80, false},
            {"x/a", "z/b", tcp80, true},
            {"x/a", "203.0.113.5", udp81, false}});
}

TEST_F(NetpolE2E, StackedPoliciesWithOverlappingSelectors) {
    verify(upstream("StackedPolicies"),
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
    verify(upstream("IngressOnNamedPort"),
        {{"y/a", "x/a", udp81, true}, {"y/a", "x/a", tcp81, false}, {"y/a", "x/a", udp80, false}});
}

TEST_F(NetpolE2E, IngressFromNamespaceOnNamedPort) {
    verify(upstream("IngressFromNamespaceOnNamedPort"),
        {{"y/a", "x/a", tcp80, true}, {"z/a", "x/a", tcp80, false}, {"y/a", "x/a", tcp81, false}});
}

TEST_F(NetpolE2E, EgressOnOneNamedPort) {
    verify(upstream("EgressOnNamedPort"),
           {{"x/a", "y/b", udp80, true},
            {"x/a", "y/b", udp81, false},
            // a named port resolves on pods only: no outside address has it
            {"x/a", "203.0.113.5", udp80, false}});
}

TEST_F(NetpolE2E, DenyEgressByPodSelector) {
    verify(upstream("EgressToPodLabels"),
           {{"x/a", "x/b", tcp80, true},
            {"x/a", "x/c", tcp80, false},
            {"x/a", "y/b", tcp80, false},
            {"x/b", "x/c", tcp80, true}});
}

TEST_F(NetpolE2E, ClientSideEgressDenyBeatsServerAllow) {
    verify(upstream("ClientEgressDenyBeatsServerAllow"),
           {{"x/a", "z/b", tcp80, false},
            {"x/b", "z/b", tcp80, false},
            {"x/a", "node-1", tcp80, true}});
}

TEST_F(NetpolE2E, EgressToOtherNamespacePodBySelectors) {
    verify(upstream("EgressToPodLabelsInNamespace"),
        {{"x/a", "y/b", tcp80, true}, {"x/a", "y/a", tcp80, false}, {"x/a", "z/b", tcp80, false}});
}

TEST_F(NetpolE2E, AllowAllTakesPrecedenceOverNarrowIngressAndEgress) {
    verify(upstream("AllowAllOverNarrowPolicies"),
           {{"y/a", "x/a", tcp81, true},
            {"x/a", "y/a", udp81, true},
            {"x/a", "z/a", udp81, true},
            {"y/a", "z/b", tcp80, false}});
}

TEST_F(NetpolE2E, EgressToServerInCidrBlock) {
    verify(upstream("EgressToCidr"),
           {{"x/a", "y/b", tcp80, true},
            {"x/a", "fd00:1:2::2", tcp80, true},
            {"x/a", "y/c", tcp80, false},
            {"x/a", "203.0.113.5", tcp80, false}});
}

TEST_F(NetpolE2E, CidrExceptClause) {
    verify(upstream("EgressToCidrWithExcept"),
           {{"x/a", "y/a", tcp80, true},
            {"x/a", "y/b", tcp80, false},
            {"x/a", "fd00:1:2::1", tcp80, true},
            {"x/a", "fd00:1:2::2", tcp80, false}});
}

TEST_F(NetpolE2E, AddressInBothCidrAndExceptAllowedByAnotherPolicy) {
    verify(upstream("CidrAndExceptAcrossTwoPolicies"),
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
    verify(upstream("IngressAndEgressIndependent"),
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
    verify(upstream("UdpOnlyDeniesTcp"),
           {{"y/a", "x/a", udp81, true}, {"y/a", "x/a", tcp81, false}});
}

TEST_F(NetpolE2E, AnyPortOnOneProtocol) {
    verify(upstream("AnyPortOnOneProtocol"),
           {{"y/a", "x/a", udp80, true},
            {"y/a", "x/a", udp81, true},
            {"y/a", "x/a", tcp80, false},
            {"y/a", "x/a", ping, false}});
}

TEST_F(NetpolE2E, PolicyInAnotherNamespaceSelectsNothingHere) {
    verify(upstream("PolicyInAnotherNamespace"),
           {{"y/a", "x/a", tcp80, true}, {"y/a", "z/a", tcp80, false}});
}

TEST_F(NetpolE2E, AllIpv4AddressesLeaveIpv6Out) {
    verify(upstream("AllIpv4LeavesIpv6Out"),
           {{"203.0.113.5", "y/a", tcp80, true},
            {"x/a", "y/a", tcp80, true},
            {"2001:db8::5", "fd00:1:2::1", tcp80, false},
            {"fd00:1:1::1", "fd00:1:2::1", tcp80, false}});
}

// Updates: the compiler is a function of the cluster state, so an update
// is a compile of the new state; these check that label changes move pods
// and namespaces in and out of policies as the upstream cases expect.
TEST_F(NetpolE2E, IngressFromUpdatedNamespace) {
    verify(upstream("IngressFromUpdatedNamespace"),
           {{"y/a", "x/a", tcp80, false}});
    for (k8s::Namespace& ns : cluster_.input.namespaces)
        if (ns.meta.name == "y")
            ns.meta.labels["ns2"] = "updated";
    check({{"y/a", "x/a", tcp80, true}, {"z/a", "x/a", tcp80, false}});
}

TEST_F(NetpolE2E, IngressFromUpdatedPodAndDenyToUpdatedPod) {
    verify(upstream("IngressFromUpdatedPodAndToUpdatedPod"),
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
    verify(upstream("DefaultDenyAll"),
           {{"x/a", "y/a", tcp80, false}});
    cluster_.input.policies.clear();
    check({{"x/a", "y/a", tcp80, true}, {"y/a", "x/a", tcp80, true}});
}

} // namespace
} // namespace kpr::policy::testing
