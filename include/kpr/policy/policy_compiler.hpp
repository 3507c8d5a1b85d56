// The policy compiler: from Pods, Namespaces, NetworkPolicies and node
// addresses, the desired ipcache and per-endpoint policy of one node, with
// Kubernetes' semantics (docs/policy.md, "Semantics"):
//
// - A pod is isolated for a direction once a policy of that type in its
//   namespace selects it; then only what the union of those policies'
//   rules allows passes. Traffic with the pod's own node is always allowed
//   (an entry for the host identity); a pod reaching itself is decided in
//   the datapath before any lookup (see policy_lookup.hpp).
// - Peers are decided per identity: a selector peer becomes the label
//   identities whose labels it matches (podSelector alone: in the policy's
//   namespace); an ipBlock becomes the CIDR identities of the blocks inside
//   it and outside its excepts; no peers is the wildcard peer.
// - Ports become (protocol, port block) keys; a range is split into aligned
//   blocks; no ports is the any-protocol key. A named port is resolved on
//   the destination pod: the endpoint itself for ingress, each peer pod for
//   egress. When pods of one identity resolve a name differently, each of
//   their addresses gets a CIDR identity of its own and the entries go to
//   those, so no pod is allowed a port its own name does not resolve to.
// - Host-network pods are neither endpoints nor selectable peers: their
//   addresses are their node's. Finished pods (Succeeded, Failed) and pods
//   without addresses are left out.
//
// Identities (label and CIDR) and the ipcache are computed over the whole
// cluster, so every node derives the same numbers; only the endpoints are
// this node's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "kpr/diagnostic.hpp"
#include "kpr/k8s/namespace.hpp"
#include "kpr/k8s/network_policy.hpp"
#include "kpr/k8s/pod.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/policy/identity.hpp"
#include "kpr/policy/identity_allocator.hpp"
#include "kpr/policy/policy_state.hpp"
#include "kpr/policy/port_blocks.hpp"

namespace kpr::policy {

struct NodeAddresses {
    std::string name;
    std::vector<net::Address> addresses;
};

struct PolicyInput {
    std::vector<k8s::Pod> pods;
    std::vector<k8s::Namespace> namespaces;
    std::vector<k8s::NetworkPolicy> policies;
    std::vector<NodeAddresses> nodes;
};

// A pod with addresses of its own: one that can be an endpoint or a peer.
inline bool has_own_addresses(const k8s::Pod& pod) {
    return !pod.host_network && !pod.terminated() && !pod.ips.empty();
}

namespace detail {

inline std::string_view direction_field(Direction d) {
    return d == Direction::ingress ? "ingress" : "egress";
}

// A destination a named port still has to be allowed to once CIDR
// identities are known: one pod address, with the number the name
// resolves to on that pod.
struct PendingAddressEntry {
    net::Prefix address;
    std::uint8_t protocol;
    std::uint16_t port;
};

// One rule of one policy, with what does not depend on the endpoint
// worked out once.
struct CompiledRule {
    Direction direction = Direction::ingress;
    bool any_peer = false;
    std::set<Identity> label_peers;
    std::vector<const k8s::IpBlock*> blocks;
    std::set<Identity> peers; // label_peers and the blocks' CIDR identities, or {any}
    std::set<std::pair<std::uint8_t, PortBlock>> numeric_ports;
    std::vector<std::pair<std::string, k8s::Protocol>> named_ports;
    std::set<PolicyKey> egress_named;         // named ports resolved per destination
    std::vector<PendingAddressEntry> pending; // the same, to refined pod addresses
};

struct CompiledPolicy {
    const k8s::NetworkPolicy* policy;
    std::vector<CompiledRule> rules;
};

class Compilation {
  public:
    Compilation(const PolicyInput& input, std::string_view local_node, const IdentityConfig& config)
        : input_(input), local_node_(local_node), config_(config) {}

    PolicyState run() {
        index_namespaces();
        allocate_label_identities();
        compile_policies();
        allocate_cidr_identities();
        build_ipcache();
        finish_rules();
        build_endpoints();
        return std::move(state_);
    }

  private:
    void index_namespaces() {
        for (const k8s::Namespace& ns : input_.namespaces)
            namespace_labels_[ns.meta.name] = config_.relevant_namespace_labels(ns.meta.labels);
    }

    // A namespace kpr has no object for has the one label the API server
    // would have given it.
    const k8s::Labels& namespace_labels(const std::string& name) {
        auto [it, added] = namespace_labels_.try_emplace(name);
        if (added)
            it->second =
                config_.relevant_namespace_labels({{std::string(k8s::namespace_name_label), name}});
        return it->second;
    }

    void allocate_label_identities() {
        std::map<std::string, IdentityLabels> by_text;
        std::vector<std::pair<const k8s::Pod*, std::string>> pod_texts;
        for (const k8s::Pod& pod : input_.pods) {
            if (!has_own_addresses(pod))
                continue;
            IdentityLabels labels{pod.meta.namespace_, config_.relevant_pod_labels(pod.meta.labels),
                                  namespace_labels(pod.meta.namespace_)};
            std::string text = labels.canonical_text();
            by_text.try_emplace(text, std::move(labels));
            pod_texts.emplace_back(&pod, std::move(text));
        }
        std::set<std::string> texts;
        for (const auto& [text, labels] : by_text)
            texts.insert(text);
        const Allocation allocation = allocate_identities(texts, config_.label_range);
        report_unallocated(allocation, "label", config_.label_range,
                           "its pods get the unmanaged identity: their own policies still apply, "
                           "but no selector matches them as a peer");
        for (const auto& [text, labels] : by_text)
            if (auto it = allocation.numbers.find(text); it != allocation.numbers.end()) {
                state_.label_identities.emplace(labels, it->second);
                labels_by_identity_.emplace(it->second, labels);
                identities_by_namespace_[labels.namespace_name].push_back(it->second);
            }
        for (const auto& [pod, text] : pod_texts)
            if (auto it = allocation.numbers.find(text); it != allocation.numbers.end()) {
                pod_identity_.emplace(pod, it->second);
                pods_by_identity_[it->second].push_back(pod);
            } else {
                pod_identity_.emplace(pod, config_.reserved.unmanaged);
            }
    }

    void report_unallocated(const Allocation& allocation, std::string_view kind,
                            IdentityRange range, std::string_view consequence) {
        for (const std::string& text : allocation.unallocated)
            state_.diagnostics.push_back(
                {{},
                 "",
                 "",
                 fmt::format("no {} identity left in {}-{} for {}; {}", kind, range.first,
                             range.last, text, consequence)});
    }

    void report(const k8s::NetworkPolicy& policy, std::string field, std::string message) {
        state_.diagnostics.push_back(
            {policy.meta.location, policy.key().str(), std::move(field), std::move(message)});
    }

    // A peer selector can only be decided on identity-relevant labels; one
    // that names another key matches nothing, so that it allows less rather
    // than more than it says.
    bool selector_decidable(const k8s::NetworkPolicy& policy,
                            const std::optional<k8s::LabelSelector>& selector,
                            bool (IdentityConfig::*relevant)(std::string_view) const,
                            const std::string& field) {
        if (!selector)
            return true;
        for (const std::string& key : selector->keys())
            if (!(config_.*relevant)(key)) {
                report(policy, field,
                       fmt::format("label key {:?} is not identity-relevant (see the identity "
                                   "configuration), so this peer is compiled to match nothing",
                                   key));
                return false;
            }
        return true;
    }

    // The selector as text that tells any two selectors apart (quoted
    // strings), to recognise peers that many policies repeat.
    static std::string selector_text(const std::optional<k8s::LabelSelector>& selector) {
        if (!selector)
            return "none";
        std::string out = "{";
        for (const auto& [key, value] : selector->match_labels)
            out += fmt::format("{:?}={:?},", key, value);
        for (const k8s::SelectorRequirement& r : selector->match_expressions) {
            out += fmt::format("{:?} {}", r.key, static_cast<int>(r.op));
            for (const std::string& value : r.values)
                out += fmt::format(" {:?}", value);
            out += ";";
        }
        return out + "}";
    }

    // The label identities a selector peer matches: podSelector alone in
    // the policy's namespace, namespaceSelector alone every identity of
    // the matching namespaces, both the intersection. Namespaces are
    // decided first (every identity of a namespace carries its labels), and
    // the answer is remembered for the next policy with the same peer.
    const std::set<Identity>& selector_peers(const k8s::NetworkPolicyPeer& peer,
                                             const std::string& policy_namespace) {
        const std::string key =
            fmt::format("{:?}|{}|{}", peer.namespace_selector ? "" : policy_namespace,
                        selector_text(peer.namespace_selector), selector_text(peer.pod_selector));
        auto [cached, fresh] = peer_cache_.try_emplace(key);
        if (!fresh)
            return cached->second;
        for (const auto& [ns, identities] : identities_by_namespace_) {
            const k8s::Labels& ns_labels =
                labels_by_identity_.at(identities.front()).namespace_labels;
            if (peer.namespace_selector ? !peer.namespace_selector->matches(ns_labels)
                                        : ns != policy_namespace)
                continue;
            for (Identity identity : identities)
                if (!peer.pod_selector ||
                    peer.pod_selector->matches(labels_by_identity_.at(identity).pod_labels))
                    cached->second.insert(identity);
        }
        return cached->second;
    }

    CompiledRule compile_rule(const k8s::NetworkPolicy& policy, Direction direction,
                              std::size_t index, const k8s::NetworkPolicyRule& rule) {
        CompiledRule out;
        out.direction = direction;
        const std::string field = fmt::format("spec.{}[{}]", direction_field(direction), index);
        out.any_peer = rule.peers.empty();
        for (std::size_t i = 0; i < rule.peers.size(); ++i) {
            const k8s::NetworkPolicyPeer& peer = rule.peers[i];
            const std::string peer_field =
                fmt::format("{}.{}[{}]", field, direction == Direction::ingress ? "from" : "to", i);
            if (peer.ip_block) {
                out.blocks.push_back(&*peer.ip_block);
                for (const net::Prefix& prefix : peer.ip_block->except)
                    prefixes_.insert(prefix);
                prefixes_.insert(peer.ip_block->cidr);
                continue;
            }
            if (!selector_decidable(policy, peer.pod_selector, &IdentityConfig::pod_label_relevant,
                                    peer_field + ".podSelector") ||
                !selector_decidable(policy, peer.namespace_selector,
                                    &IdentityConfig::namespace_label_relevant,
                                    peer_field + ".namespaceSelector"))
                continue;
            const std::set<Identity>& matched = selector_peers(peer, policy.meta.namespace_);
            out.label_peers.insert(matched.begin(), matched.end());
        }
        if (rule.ports.empty())
            out.numeric_ports.insert({any_protocol, PortBlock{0, 0}});
        for (const k8s::NetworkPolicyPort& port : rule.ports) {
            const std::uint8_t protocol = k8s::ip_protocol_number(port.protocol);
            if (!port.port) {
                out.numeric_ports.insert({protocol, PortBlock{0, 0}});
            } else if (const auto* name = std::get_if<std::string>(&*port.port)) {
                out.named_ports.emplace_back(*name, port.protocol);
            } else {
                const std::uint16_t first = std::get<std::uint16_t>(*port.port);
                for (const PortBlock& block : port_blocks(first, port.end_port.value_or(first)))
                    out.numeric_ports.insert({protocol, block});
            }
        }
        if (direction == Direction::egress && !out.named_ports.empty())
            resolve_egress_named_ports(out);
        return out;
    }

    // Per destination pod: per identity when all its pods agree, else per
    // pod address (refined), and for ipBlock peers per pod address inside.
    void resolve_egress_named_ports(CompiledRule& rule) {
        const auto add_pod = [&](const k8s::Pod& pod, const k8s::IpBlock* within,
                                 std::uint8_t protocol, std::uint16_t port) {
            for (const net::Address& ip : pod.ips)
                if (!within || within->contains(ip)) {
                    const net::Prefix host = net::Prefix::host(ip);
                    prefixes_.insert(host);
                    rule.pending.push_back({host, protocol, port});
                }
        };
        std::vector<Identity> identities;
        if (rule.any_peer)
            for (const auto& [identity, pods] : pods_by_identity_)
                identities.push_back(identity);
        else
            identities.assign(rule.label_peers.begin(), rule.label_peers.end());
        for (const auto& [name, protocol] : rule.named_ports) {
            const std::uint8_t number = k8s::ip_protocol_number(protocol);
            for (Identity identity : identities) {
                const std::vector<const k8s::Pod*>& pods = pods_by_identity_.at(identity);
                const std::optional<std::uint16_t> first = pods.front()->named_port(name, protocol);
                bool uniform = true;
                for (const k8s::Pod* pod : pods)
                    uniform = uniform && pod->named_port(name, protocol) == first;
                if (uniform) {
                    if (first)
                        rule.egress_named.insert(
                            {identity, Direction::egress, number, {*first, port_bits}});
                    continue;
                }
                for (const k8s::Pod* pod : pods)
                    if (auto port = pod->named_port(name, protocol))
                        add_pod(*pod, nullptr, number, *port);
            }
            for (const k8s::IpBlock* block : rule.blocks)
                for (const auto& [identity, pods] : pods_by_identity_)
                    for (const k8s::Pod* pod : pods)
                        if (auto port = pod->named_port(name, protocol))
                            add_pod(*pod, block, number, *port);
        }
    }

    void compile_policies() {
        for (const k8s::NetworkPolicy& policy : input_.policies) {
            CompiledPolicy compiled{&policy, {}};
            for (Direction direction : {Direction::ingress, Direction::egress}) {
                const k8s::PolicyType type = direction == Direction::ingress
                                                 ? k8s::PolicyType::Ingress
                                                 : k8s::PolicyType::Egress;
                if (!policy.has_type(type))
                    continue;
                const std::vector<k8s::NetworkPolicyRule>& rules = policy.rules(type);
                for (std::size_t i = 0; i < rules.size(); ++i)
                    compiled.rules.push_back(compile_rule(policy, direction, i, rules[i]));
            }
            policies_by_namespace_[policy.meta.namespace_].push_back(compiled_.size());
            compiled_.push_back(std::move(compiled));
        }
    }

    void allocate_cidr_identities() {
        std::map<std::string, net::Prefix> by_text;
        for (const net::Prefix& prefix : prefixes_)
            by_text.emplace("cidr:" + prefix.str(), prefix);
        std::set<std::string> texts;
        for (const auto& [text, prefix] : by_text)
            texts.insert(text);
        const Allocation allocation = allocate_identities(texts, config_.cidr_range);
        report_unallocated(allocation, "CIDR", config_.cidr_range,
                           "addresses in it are known by the enclosing block's identity");
        for (const auto& [text, prefix] : by_text)
            if (auto it = allocation.numbers.find(text); it != allocation.numbers.end())
                state_.cidr_identities.emplace(prefix, it->second);
    }

    // The CIDR identity of the most specific policy block holding address.
    Identity cidr_identity_of(const net::Address& address) const {
        for (int length = net::address_bits(address.family()); length >= 0; --length)
            if (auto it = state_.cidr_identities.find(
                    net::Prefix(address, static_cast<std::uint8_t>(length)));
                it != state_.cidr_identities.end())
                return it->second;
        return config_.reserved.world;
    }

    void build_ipcache() {
        Ipcache& ipcache = state_.ipcache;
        // Every address has an entry: world, unless a policy names the /0.
        const Identity world = config_.reserved.world;
        ipcache[net::Prefix(*net::Address::parse("0.0.0.0"), 0)] = {world, world};
        ipcache[net::Prefix(*net::Address::parse("::"), 0)] = {world, world};
        for (const auto& [prefix, identity] : state_.cidr_identities)
            ipcache[prefix] = {identity, identity};

        std::map<net::Prefix, std::string> owner;
        const auto claim = [&](const net::Address& address, Identity identity,
                               const std::string& who, const SourceLocation& where) {
            const net::Prefix host = net::Prefix::host(address);
            if (auto [it, fresh] = owner.try_emplace(host, who); !fresh) {
                if (it->second != who)
                    state_.diagnostics.push_back(
                        {where, who, "",
                         fmt::format("address {} is also {}'s; {} keeps it", address.str(),
                                     it->second, it->second)});
                return;
            }
            ipcache[host] = {identity, cidr_identity_of(address)};
        };
        const auto node_identity = [&](const std::string& node) {
            return node == local_node_ ? config_.reserved.host : config_.reserved.remote_node;
        };
        for (const NodeAddresses& node : input_.nodes)
            for (const net::Address& address : node.addresses)
                claim(address, node_identity(node.name), fmt::format("Node {}", node.name), {});
        for (const k8s::Pod& pod : input_.pods)
            if (pod.host_network && !pod.terminated() && !pod.node_name.empty())
                for (const net::Address& address : pod.ips)
                    claim(address, node_identity(pod.node_name),
                          fmt::format("Node {}", pod.node_name), pod.meta.location);
        for (const k8s::Pod& pod : input_.pods)
            if (auto it = pod_identity_.find(&pod); it != pod_identity_.end())
                for (const net::Address& address : pod.ips)
                    claim(address, it->second, pod.key().str(), pod.meta.location);
    }

    // The CIDR identities an ipBlock matches: every block in the ipcache
    // inside its cidr (itself included) and not inside an except. An
    // address matches the ipBlock exactly when its longest match is one of
    // these.
    void add_block_identities(const k8s::IpBlock& block, std::set<Identity>& out) const {
        for (auto it = state_.cidr_identities.lower_bound(block.cidr);
             it != state_.cidr_identities.end() && block.cidr.contains(it->first); ++it) {
            bool excepted = false;
            for (const net::Prefix& except : block.except)
                excepted = excepted || except.contains(it->first);
            if (!excepted)
                out.insert(it->second);
        }
    }

    void finish_rules() {
        for (CompiledPolicy& policy : compiled_)
            for (CompiledRule& rule : policy.rules) {
                if (rule.any_peer) {
                    rule.peers.insert(any_identity);
                } else {
                    rule.peers = rule.label_peers;
                    for (const k8s::IpBlock* block : rule.blocks)
                        add_block_identities(*block, rule.peers);
                }
                for (const PendingAddressEntry& pending : rule.pending)
                    rule.egress_named.insert({cidr_identity_of(pending.address.address()),
                                              Direction::egress,
                                              pending.protocol,
                                              {pending.port, port_bits}});
            }
    }

    static void add_rule(const CompiledRule& rule, const k8s::Pod& pod, EndpointPolicy& endpoint) {
        for (Identity peer : rule.peers)
            for (const auto& [protocol, block] : rule.numeric_ports)
                endpoint.allowed.insert({peer, rule.direction, protocol, block});
        if (rule.direction == Direction::ingress) {
            for (const auto& [name, protocol] : rule.named_ports)
                if (auto port = pod.named_port(name, protocol))
                    for (Identity peer : rule.peers)
                        endpoint.allowed.insert({peer,
                                                 Direction::ingress,
                                                 k8s::ip_protocol_number(protocol),
                                                 {*port, port_bits}});
        } else {
            endpoint.allowed.insert(rule.egress_named.begin(), rule.egress_named.end());
        }
    }

    void build_endpoints() {
        for (const k8s::Pod& pod : input_.pods) {
            const auto identity = pod_identity_.find(&pod);
            if (pod.node_name != local_node_ || identity == pod_identity_.end())
                continue;
            EndpointPolicy endpoint;
            endpoint.identity = identity->second;
            endpoint.addresses = pod.ips;
            for (std::size_t index : policies_by_namespace_[pod.meta.namespace_]) {
                const CompiledPolicy& policy = compiled_[index];
                if (!policy.policy->pod_selector.matches(pod.meta.labels))
                    continue;
                endpoint.ingress_enforced =
                    endpoint.ingress_enforced || policy.policy->ingress_type;
                endpoint.egress_enforced = endpoint.egress_enforced || policy.policy->egress_type;
                for (const CompiledRule& rule : policy.rules)
                    add_rule(rule, pod, endpoint);
            }
            for (Direction direction : {Direction::ingress, Direction::egress})
                if (endpoint.enforced(direction))
                    endpoint.allowed.insert(
                        {config_.reserved.host, direction, any_protocol, {0, 0}});
            state_.endpoints.emplace(pod.key(), std::move(endpoint));
        }
    }

    const PolicyInput& input_;
    std::string local_node_;
    const IdentityConfig& config_;
    PolicyState state_;
    std::map<std::string, k8s::Labels> namespace_labels_;
    std::unordered_map<const k8s::Pod*, Identity> pod_identity_;
    std::map<Identity, IdentityLabels> labels_by_identity_;
    std::map<std::string, std::vector<Identity>> identities_by_namespace_;
    std::map<std::string, std::set<Identity>> peer_cache_; // by namespace and selector texts
    std::map<Identity, std::vector<const k8s::Pod*>> pods_by_identity_;
    std::set<net::Prefix> prefixes_; // every block policies name, and refined pod addresses
    std::vector<CompiledPolicy> compiled_;
    std::map<std::string, std::vector<std::size_t>> policies_by_namespace_;
};

} // namespace detail

// The desired policy state of node local_node. An unusable identity
// configuration (identity_config_problems) throws std::invalid_argument
// naming every problem: it would number identities wrongly everywhere, and
// the caller should keep what it programmed before.
inline PolicyState compile_policy(const PolicyInput& input, std::string_view local_node,
                                  const IdentityConfig& config = {}) {
    if (const std::vector<std::string> problems = identity_config_problems(config);
        !problems.empty()) {
        std::string message = "unusable identity configuration:";
        for (const std::string& problem : problems)
            message += " " + problem + ";";
        throw std::invalid_argument(message);
    }
    return detail::Compilation(input, local_node, config).run();
}

} // namespace kpr::policy
