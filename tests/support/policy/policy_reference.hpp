// Test support for NetworkPolicy, shared by the compiler's unit tests and
// the kernel policy matrix: a direct implementation of the Kubernetes
// NetworkPolicy rules (does the cluster allow this packet?), written from
// the API documentation and sharing nothing with the compiler but the typed
// objects, and a harness that checks the compiler's output — through the
// datapath's lookup sequence (policy_lookup.hpp) — against it on every pair
// of addresses, printing expected and observed reachability tables when
// they differ.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/k8s/yaml_decode.hpp"
#include "kpr/policy/policy_compiler.hpp"
#include "kpr/policy/policy_lookup.hpp"

namespace kpr::policy::testing {

// A packet's transport: IANA protocol number and destination port (0 for ICMP).
struct Probe {
    std::uint8_t protocol;
    std::uint16_t port;

    auto operator<=>(const Probe&) const = default;
    std::string str() const {
        switch (protocol) {
        case 6:
            return fmt::format("TCP/{}", port);
        case 17:
            return fmt::format("UDP/{}", port);
        case 132:
            return fmt::format("SCTP/{}", port);
        case 1:
            return "ICMP";
        default:
            return fmt::format("proto{}/{}", protocol, port);
        }
    }
};

inline constexpr std::uint8_t tcp = 6, udp = 17, sctp = 132, icmp = 1;

// --- the reference: Kubernetes' rules, read directly ---

class Reference {
  public:
    explicit Reference(const PolicyInput& input) : input_(input) {}

    bool allows(const net::Address& source, const net::Address& destination, Probe probe) const {
        const k8s::Pod* from = pod_at(source);
        const k8s::Pod* to = pod_at(destination);
        if (from && !isolation_allows(*from, Direction::egress, destination, to, probe))
            return false;
        if (to && !isolation_allows(*to, Direction::ingress, source, to, probe))
            return false;
        return true;
    }

    // The pod (with addresses of its own) holding address, if any.
    const k8s::Pod* pod_at(const net::Address& address) const {
        for (const k8s::Pod& pod : input_.pods)
            if (!pod.host_network && !pod.terminated())
                for (const net::Address& ip : pod.ips)
                    if (ip == address)
                        return &pod;
        return nullptr;
    }

  private:
    // Whether address belongs to the node the pod runs on: one of the
    // node's addresses, or a host-network pod's there.
    bool is_own_node(const k8s::Pod& pod, const net::Address& address) const {
        for (const NodeAddresses& node : input_.nodes)
            if (node.name == pod.node_name)
                for (const net::Address& a : node.addresses)
                    if (a == address)
                        return true;
        for (const k8s::Pod& other : input_.pods)
            if (other.host_network && !other.terminated() && other.node_name == pod.node_name)
                for (const net::Address& a : other.ips)
                    if (a == address)
                        return true;
        return false;
    }

    k8s::Labels namespace_labels(const std::string& name) const {
        for (const k8s::Namespace& ns : input_.namespaces)
            if (ns.meta.name == name)
                return ns.meta.labels;
        return {{"kubernetes.io/metadata.name", name}};
    }

    bool peer_matches(const k8s::NetworkPolicy& policy, const k8s::NetworkPolicyPeer& peer,
                      const net::Address& address, const k8s::Pod* pod) const {
        if (peer.ip_block)
            return peer.ip_block->cidr.contains(address) &&
                   std::none_of(peer.ip_block->except.begin(), peer.ip_block->except.end(),
                                [&](const net::Prefix& e) { return e.contains(address); });
        if (!pod)
            return false;
        if (peer.namespace_selector) {
            if (!peer.namespace_selector->matches(namespace_labels(pod->meta.namespace_)))
                return false;
        } else if (pod->meta.namespace_ != policy.meta.namespace_) {
            return false;
        }
        return !peer.pod_selector || peer.pod_selector->matches(pod->meta.labels);
    }

    static bool port_matches(const k8s::NetworkPolicyPort& port, Probe probe,
                             const k8s::Pod* destination) {
        if (k8s::ip_protocol_number(port.protocol) != probe.protocol)
            return false;
        if (!port.port)
            return true;
        if (const auto* name = std::get_if<std::string>(&*port.port))
            return destination && destination->named_port(*name, port.protocol) == probe.port;
        const std::uint16_t first = std::get<std::uint16_t>(*port.port);
        return probe.port >= first && probe.port <= port.end_port.value_or(first);
    }

    // Whether pod, if isolated in direction, has a rule allowing the peer.
    bool isolation_allows(const k8s::Pod& pod, Direction direction, const net::Address& peer,
                          const k8s::Pod* destination, Probe probe) const {
        if (std::find(pod.ips.begin(), pod.ips.end(), peer) != pod.ips.end())
            return true; // a pod cannot block itself
        if (is_own_node(pod, peer))
            return true; // nor its own node
        const k8s::Pod* peer_pod = pod_at(peer);
        const k8s::PolicyType type =
            direction == Direction::ingress ? k8s::PolicyType::Ingress : k8s::PolicyType::Egress;
        bool isolated = false;
        for (const k8s::NetworkPolicy& policy : input_.policies) {
            if (policy.meta.namespace_ != pod.meta.namespace_ || !policy.has_type(type) ||
                !policy.pod_selector.matches(pod.meta.labels))
                continue;
            isolated = true;
            for (const k8s::NetworkPolicyRule& rule : policy.rules(type)) {
                const bool peer_ok =
                    rule.peers.empty() ||
                    std::any_of(rule.peers.begin(), rule.peers.end(), [&](const auto& p) {
                        return peer_matches(policy, p, peer, peer_pod);
                    });
                const bool port_ok =
                    rule.ports.empty() ||
                    std::any_of(rule.ports.begin(), rule.ports.end(),
                                [&](const auto& p) { return port_matches(p, probe, destination); });
                if (peer_ok && port_ok)
                    return true;
            }
        }
        return !isolated;
    }

    const PolicyInput& input_;
};

// --- building clusters ---

inline net::Address ip(std::string_view text) {
    return *net::Address::parse(text);
}

// One NetworkPolicy document (ending in a document separator, so that
// documents concatenate): spec is the YAML under "spec:", indented by two.
inline std::string network_policy(std::string_view ns, std::string_view name,
                                  std::string_view spec) {
    return fmt::format("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: "
                       "{}, namespace: {}}}\n"
                       "spec:\n{}---\n",
                       name, ns, spec);
}

struct ClusterBuilder {
    PolicyInput input;

    void add_namespace(const std::string& name, k8s::Labels labels) {
        labels.emplace("kubernetes.io/metadata.name", name);
        input.namespaces.push_back({k8s::ObjectMeta{"", name, std::move(labels), {}}});
    }

    k8s::Pod& add_pod(const std::string& ns, const std::string& name, k8s::Labels labels,
                      std::vector<net::Address> ips, const std::string& node,
                      std::vector<k8s::ContainerPort> ports = {}) {
        k8s::Pod pod;
        pod.meta = {ns, name, std::move(labels), {}};
        pod.node_name = node;
        pod.phase = k8s::PodPhase::Running;
        pod.ips = std::move(ips);
        pod.container_ports = std::move(ports);
        input.pods.push_back(std::move(pod));
        return input.pods.back();
    }

    void add_node(const std::string& name, std::vector<net::Address> addresses) {
        input.nodes.push_back({name, std::move(addresses)});
    }

    // NetworkPolicies (and anything else decode_yaml reads) from YAML text;
    // the text must be valid.
    void add_policies(std::string_view yaml) {
        const k8s::DecodeResult r = k8s::decode_yaml(yaml, "policies.yaml");
        for (const Diagnostic& d : r.errors)
            ADD_FAILURE() << d.str();
        input.policies.insert(input.policies.end(), r.network_policies.begin(),
                              r.network_policies.end());
    }
};

// --- comparing the compiler with the reference ---

struct Place {
    std::string name; // "x/a", "node-1", "ext 192.0.2.1"
    net::Address address;
};

// Every address in the cluster, named, plus the given outside addresses.
inline std::vector<Place> places_of(const PolicyInput& input,
                                    const std::vector<net::Address>& outside) {
    std::vector<Place> out;
    for (const k8s::Pod& pod : input.pods)
        if (!pod.terminated())
            for (const net::Address& a : pod.ips)
                out.push_back({fmt::format("{}/{}{}", pod.meta.namespace_, pod.meta.name,
                                           a.is_v4() ? "" : "(6)"),
                               a});
    for (const NodeAddresses& node : input.nodes)
        for (const net::Address& a : node.addresses)
            out.push_back({fmt::format("{}{}", node.name, a.is_v4() ? "" : "(6)"), a});
    for (const net::Address& a : outside)
        out.push_back({fmt::format("ext {}", a.str()), a});
    return out;
}

struct CrossCheck {
    std::size_t packets = 0;
    std::size_t allowed = 0;
    std::size_t mismatches = 0;
    int max_lookups = 0;
    bool nodes_agree = false; // every node derived the same label and CIDR identities
    std::string report;       // the tables of every probe with a mismatch
};

// The compiled decision: the source pod's egress on its node, then the
// destination pod's ingress on its node, each by the datapath's lookups.
class Compiled {
  public:
    Compiled(const PolicyInput& input, const IdentityConfig& config = {}) : reference_(input) {
        std::set<std::string> nodes;
        for (const k8s::Pod& pod : input.pods)
            nodes.insert(pod.node_name);
        for (const NodeAddresses& node : input.nodes)
            nodes.insert(node.name);
        for (const std::string& node : nodes)
            states_.emplace(node, compile_policy(input, node, config));
    }

    const PolicyState& state(const std::string& node) const { return states_.at(node); }

    // Whether every node derived the same identities: the scheme's promise.
    bool nodes_agree_on_identities() const {
        for (const auto& [node, state] : states_)
            if (state.label_identities != states_.begin()->second.label_identities ||
                state.cidr_identities != states_.begin()->second.cidr_identities)
                return false;
        return true;
    }

    std::pair<bool, int> allows(const net::Address& source, const net::Address& destination,
                                Probe probe) const {
        int lookups = 0;
        for (Direction direction : {Direction::egress, Direction::ingress}) {
            const k8s::Pod* pod =
                reference_.pod_at(direction == Direction::egress ? source : destination);
            if (!pod)
                continue;
            const PolicyState& state = states_.at(pod->node_name);
            const auto endpoint = state.endpoints.find(pod->key());
            if (endpoint == state.endpoints.end()) {
                ADD_FAILURE() << "no endpoint for " << pod->key().str();
                return {false, lookups};
            }
            const PolicyDecision d = decide_packet(
                state, endpoint->second, direction,
                direction == Direction::egress ? destination : source, probe.protocol, probe.port);
            lookups = std::max(lookups, d.lookups);
            if (!d.allowed)
                return {false, lookups};
        }
        return {true, lookups};
    }

  private:
    Reference reference_;
    std::map<std::string, PolicyState> states_;
};

// '.' allowed, 'X' denied, ' ' not a pair (different families).
inline std::string reachability_table(const std::vector<Place>& places,
                                      const std::vector<std::vector<char>>& cells) {
    std::string out = fmt::format("{:>24} |", "from \\ to");
    for (std::size_t j = 0; j < places.size(); ++j)
        out += fmt::format(" {:>2}", j);
    out += "\n";
    for (std::size_t i = 0; i < places.size(); ++i) {
        out += fmt::format("{:>20} {:>2} |", places[i].name.substr(0, 20), i);
        for (std::size_t j = 0; j < places.size(); ++j)
            out += fmt::format(" {:>2}", cells[i][j]);
        out += "\n";
    }
    return out;
}

// Every place to every place (same family) for every probe, compiled
// against reference; on a mismatch the report holds both tables of that probe.
inline CrossCheck cross_check(const PolicyInput& input, const std::vector<net::Address>& outside,
                              const std::vector<Probe>& probes, const IdentityConfig& config = {}) {
    CrossCheck out;
    const Reference reference(input);
    const Compiled compiled(input, config);
    out.nodes_agree = compiled.nodes_agree_on_identities();
    const std::vector<Place> places = places_of(input, outside);
    for (const Probe& probe : probes) {
        std::vector<std::vector<char>> expected(places.size(),
                                                std::vector<char>(places.size(), ' '));
        std::vector<std::vector<char>> observed = expected;
        std::size_t probe_mismatches = 0;
        for (std::size_t i = 0; i < places.size(); ++i)
            for (std::size_t j = 0; j < places.size(); ++j) {
                if (places[i].address.family() != places[j].address.family())
                    continue;
                const bool want = reference.allows(places[i].address, places[j].address, probe);
                const auto [got, lookups] =
                    compiled.allows(places[i].address, places[j].address, probe);
                expected[i][j] = want ? '.' : 'X';
                observed[i][j] = got ? '.' : 'X';
                out.max_lookups = std::max(out.max_lookups, lookups);
                ++out.packets;
                out.allowed += want;
                if (want != got) {
                    ++probe_mismatches;
                    out.report += fmt::format("  {} -> {} {}: expected {}, observed {}\n",
                                              places[i].name, places[j].name, probe.str(),
                                              want ? "allow" : "deny", got ? "allow" : "deny");
                }
            }
        if (probe_mismatches) {
            out.mismatches += probe_mismatches;
            out.report += fmt::format("{}: expected (reference)\n{}{}: observed (compiled)\n{}",
                                      probe.str(), reachability_table(places, expected),
                                      probe.str(), reachability_table(places, observed));
        }
    }
    return out;
}

} // namespace kpr::policy::testing
