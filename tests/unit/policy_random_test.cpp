// The policy compiler against the reference evaluator on randomised
// clusters (fixed seeds, so every run checks the same clusters): random
// labels, namespaces with and without objects, dual-stack and single-stack
// pods, host-network and finished pods, named ports that pods of one
// identity resolve differently, and random policies using every kind of
// peer and port. Every pair of addresses, every probe.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "policy_reference.hpp"

namespace kpr::policy::testing {
namespace {

class RandomClusterMaker {
  public:
    explicit RandomClusterMaker(std::uint32_t seed) : rng_(seed) {}

    ClusterBuilder make() {
        ClusterBuilder c;
        for (int n = 0; n < 3; ++n)
            c.add_namespace(namespaces_[n],
                            random_labels({{"team", {"red", "blue"}}, {"env", {"prod", "dev"}}}));
        // namespaces_[3] has pods but no Namespace object.
        c.add_node("node-1", {ip("192.168.0.1"), ip("fd01::1")});
        c.add_node("node-2", {ip("192.168.0.2"), ip("fd01::2")});
        const int pods = pick(10, 16);
        for (int p = 0; p < pods; ++p) {
            std::vector<net::Address> ips{ip(fmt::format("10.2.{}.{}", p % 3, 10 + p))};
            if (chance(60))
                ips.push_back(ip(fmt::format("fd00:2:{}::{:x}", p % 3, 10 + p)));
            std::vector<k8s::ContainerPort> ports;
            if (chance(70))
                ports.push_back({"http", static_cast<std::uint16_t>(chance(50) ? 80 : 8080),
                                 k8s::Protocol::TCP});
            if (chance(40))
                ports.push_back({"dns", 53, k8s::Protocol::UDP});
            k8s::Pod& pod =
                c.add_pod(namespaces_[pick(0, 5) / 2], fmt::format("p{}", p),
                          random_labels({{"app", {"web", "db"}}, {"tier", {"front", "back"}}}, 85),
                          std::move(ips), chance(50) ? "node-1" : "node-2", std::move(ports));
            if (chance(8))
                pod.phase = k8s::PodPhase::Succeeded;
        }
        k8s::Pod& host = c.add_pod("ns0", "host-agent", {{"app", "web"}}, {ip("192.168.0.1")},
                                   "node-1", {{"http", 80, k8s::Protocol::TCP}});
        host.host_network = true;
        for (int i = pick(2, 5); i > 0; --i)
            c.input.policies.push_back(random_policy(c, i));
        return c;
    }

  private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(1, 100) <= percent; }
    template <class T> const T& one_of(const std::vector<T>& v) {
        return v[pick(0, static_cast<int>(v.size()) - 1)];
    }

    // Each key of vocabulary with the given chance; pods get few distinct
    // label sets, so that identities hold several pods.
    k8s::Labels
    random_labels(const std::vector<std::pair<std::string, std::vector<std::string>>>& vocabulary,
                  int percent = 70) {
        k8s::Labels labels;
        for (const auto& [key, values] : vocabulary)
            if (chance(key == "tier" ? 100 - percent : percent))
                labels[key] = one_of(values);
        return labels;
    }

    k8s::LabelSelector random_selector(
        const std::vector<std::pair<std::string, std::vector<std::string>>>& vocabulary) {
        k8s::LabelSelector s;
        if (chance(40)) {
            const auto& [key, values] = one_of(vocabulary);
            s.match_labels[key] = one_of(values);
        }
        if (chance(50)) {
            const auto& [key, values] = one_of(vocabulary);
            k8s::SelectorRequirement r;
            r.key = key;
            r.op = static_cast<k8s::SelectorOperator>(pick(0, 3));
            if (r.op == k8s::SelectorOperator::In || r.op == k8s::SelectorOperator::NotIn)
                r.values.insert(one_of(values));
            s.match_expressions.push_back(r);
        }
        return s;
    }

    k8s::IpBlock random_block(const ClusterBuilder& c) {
        const k8s::Pod& pod = c.input.pods[pick(0, static_cast<int>(c.input.pods.size()) - 1)];
        const net::Prefix pod_host = net::Prefix::host(pod.ips.front());
        switch (pick(0, 6)) {
        case 0:
            return {*net::Prefix::parse("10.2.0.0/16"), {pod_host}};
        case 1:
            return {*net::Prefix::parse("10.2.1.0/24"), {}};
        case 2:
            return {*net::Prefix::parse("0.0.0.0/0"), {*net::Prefix::parse("10.2.0.0/24")}};
        case 3:
            return {*net::Prefix::parse("203.0.113.0/24"), {*net::Prefix::parse("203.0.113.8/29")}};
        case 4:
            return {*net::Prefix::parse("fd00:2::/32"), {*net::Prefix::parse("fd00:2:1::/48")}};
        case 5:
            return {*net::Prefix::parse("::/0"), {}};
        default:
            return {pod_host, {}};
        }
    }

    k8s::NetworkPolicyPeer random_peer(const ClusterBuilder& c) {
        k8s::NetworkPolicyPeer peer;
        const int kind = pick(0, 3);
        if (kind == 0 || kind == 2)
            peer.pod_selector =
                random_selector({{"app", {"web", "db"}}, {"tier", {"front", "back"}}});
        if (kind == 1 || kind == 2)
            peer.namespace_selector =
                random_selector({{"team", {"red", "blue"}},
                                 {"env", {"prod", "dev"}},
                                 {"kubernetes.io/metadata.name", {"ns0", "ns3"}}});
        if (kind == 3)
            peer.ip_block = random_block(c);
        return peer;
    }

    k8s::NetworkPolicyPort random_port() {
        k8s::NetworkPolicyPort port;
        port.protocol = one_of(std::vector<k8s::Protocol>{k8s::Protocol::TCP, k8s::Protocol::UDP,
                                                          k8s::Protocol::SCTP});
        switch (pick(0, 5)) {
        case 0:
            break; // every port of the protocol
        case 1:
            port.port = static_cast<std::uint16_t>(one_of(std::vector<int>{53, 80, 8080}));
            break;
        case 2: {
            const auto [first, last] = one_of(
                std::vector<std::pair<int, int>>{{79, 81}, {1000, 2000}, {8000, 8080}, {1, 65535}});
            port.port = static_cast<std::uint16_t>(first);
            port.end_port = static_cast<std::uint16_t>(last);
            break;
        }
        default:
            port.port = one_of(std::vector<std::string>{"http", "http", "dns", "nothing"});
        }
        return port;
    }

    k8s::NetworkPolicy random_policy(const ClusterBuilder& c, int index) {
        k8s::NetworkPolicy policy;
        policy.meta = {namespaces_[pick(0, 3)], fmt::format("policy-{}", index), {}, {}};
        policy.pod_selector =
            random_selector({{"app", {"web", "db"}}, {"tier", {"front", "back"}}});
        for (auto* rules : {&policy.ingress, &policy.egress})
            for (int r = pick(0, 2); r > 0; --r) {
                k8s::NetworkPolicyRule rule;
                for (int p = pick(0, 2); p > 0; --p)
                    rule.peers.push_back(random_peer(c));
                for (int p = pick(0, 2); p > 0; --p)
                    rule.ports.push_back(random_port());
                rules->push_back(std::move(rule));
            }
        switch (pick(0, 3)) {
        case 0: // defaulted, as the API server does
            policy.ingress_type = true;
            policy.egress_type = !policy.egress.empty();
            break;
        case 1:
            policy.ingress_type = true;
            policy.egress_type = false;
            break;
        case 2:
            policy.ingress_type = false;
            policy.egress_type = true;
            break;
        default:
            policy.ingress_type = policy.egress_type = true;
        }
        return policy;
    }

    std::mt19937 rng_;
    const std::vector<std::string> namespaces_{"ns0", "ns1", "ns2", "ns3"};
};

const std::vector<Probe> random_probes = {{tcp, 80},     {tcp, 8080}, {tcp, 79}, {tcp, 1500},
                                          {tcp, 2001},   {udp, 53},   {udp, 80}, {sctp, 80},
                                          {sctp, 65535}, {icmp, 0}};

TEST(PolicyRandomClusters, CompiledMapsDecideLikeKubernetes) {
    std::size_t packets = 0, allowed = 0;
    int max_lookups = 0;
    for (std::uint32_t seed = 1; seed <= 60; ++seed) {
        const ClusterBuilder cluster = RandomClusterMaker(seed).make();
        const CrossCheck check = cross_check(
            cluster.input,
            {ip("203.0.113.9"), ip("198.51.100.1"), ip("10.2.0.200"), ip("2001:db8::7")},
            random_probes);
        EXPECT_EQ(check.mismatches, 0u) << "seed " << seed << "\n" << check.report;
        EXPECT_TRUE(check.nodes_agree) << "seed " << seed;
        packets += check.packets;
        allowed += check.allowed;
        max_lookups = std::max(max_lookups, check.max_lookups);
    }
    EXPECT_LE(max_lookups, max_policy_lookups);
    // The clusters exercise both outcomes in earnest, not one.
    EXPECT_GT(allowed, packets / 10);
    EXPECT_LT(allowed, packets - packets / 10);
}

} // namespace
} // namespace kpr::policy::testing
