// The typed networking.k8s.io/v1 NetworkPolicy, with the API server's
// defaults applied (policyTypes, port protocols): which pods it selects, and
// for each direction the rules that allow traffic to or from them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kpr/k8s/label_selector.hpp"
#include "kpr/k8s/object_meta.hpp"
#include "kpr/k8s/protocol.hpp"
#include "kpr/net/prefix.hpp"

namespace kpr::k8s {

enum class PolicyType { Ingress, Egress };

struct IpBlock {
    net::Prefix cidr;
    std::vector<net::Prefix> except; // each strictly inside cidr

    bool operator==(const IpBlock&) const = default;

    bool contains(const net::Address& address) const {
        if (!cidr.contains(address))
            return false;
        for (const net::Prefix& prefix : except)
            if (prefix.contains(address))
                return false;
        return true;
    }
};

// Either selectors (one or both set) or an ipBlock, never both.
struct NetworkPolicyPeer {
    // Pods matching it; alone, pods of the policy's own namespace.
    std::optional<LabelSelector> pod_selector;
    // Namespaces matching it; alone, every pod in them.
    std::optional<LabelSelector> namespace_selector;
    std::optional<IpBlock> ip_block;

    bool operator==(const NetworkPolicyPeer&) const = default;
};

struct NetworkPolicyPort {
    Protocol protocol = Protocol::TCP;
    // A number or a container port name; absent means every port.
    std::optional<std::variant<std::uint16_t, std::string>> port;
    // With a numeric port: the last port of the range port..end_port.
    std::optional<std::uint16_t> end_port;

    bool operator==(const NetworkPolicyPort&) const = default;
};

// Traffic matches a rule when it matches one of its peers (or peers is
// empty: every peer) and one of its ports (or ports is empty: every port
// of every protocol).
struct NetworkPolicyRule {
    std::vector<NetworkPolicyPeer> peers; // from (ingress) or to (egress)
    std::vector<NetworkPolicyPort> ports;

    bool operator==(const NetworkPolicyRule&) const = default;
};

struct NetworkPolicy {
    ObjectMeta meta;
    LabelSelector pod_selector; // in the policy's namespace; empty selects every pod
    // As the API server defaults them: given, or Ingress plus Egress when
    // there are egress rules.
    bool ingress_type = true;
    bool egress_type = false;
    std::vector<NetworkPolicyRule> ingress;
    std::vector<NetworkPolicyRule> egress;

    ObjectKey key() const { return {"NetworkPolicy", meta.namespace_, meta.name}; }
    bool operator==(const NetworkPolicy&) const = default;

    bool has_type(PolicyType type) const {
        return type == PolicyType::Ingress ? ingress_type : egress_type;
    }
    const std::vector<NetworkPolicyRule>& rules(PolicyType type) const {
        return type == PolicyType::Ingress ? ingress : egress;
    }
};

} // namespace kpr::k8s
