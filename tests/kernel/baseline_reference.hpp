// The baseline policy's meaning, written from the AdminNetworkPolicy
// documentation and the schema docs rather than from kpr-gen's emitter: the
// rules in priority order (lower first, equal priorities in document
// order), the first whose subject, peers and ports all match a packet
// decides — Allow and Deny decide, Pass hands the packet to NetworkPolicy —
// and a packet no rule matches goes to NetworkPolicy too. The packet is
// described by what it is (which pod, which kind of peer, which address),
// not by identities: the test derives the identities separately.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kpr/net/address.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/schema/baseline_policy.hpp"

namespace kpr::baseline_reference {

enum class Verdict { pass = 0, allow = 1, deny = 2 }; // the KPR_BASELINE_* numbers

// A pod as policy sees it: its identity-relevant labels, or none known
// when it has no identity of its own (unmanaged).
struct PodLabels {
    std::map<std::string, std::string> pod;
    std::map<std::string, std::string> namespace_;
};

enum class PeerKind { pod, this_node, other_node, outside };

struct Packet {
    schema::PolicyDirection direction;
    std::optional<PodLabels> local; // the pod the rules guard
    PeerKind peer_kind;
    std::optional<PodLabels> peer_labels; // for a pod peer with an identity
    net::Address peer_address;
    std::uint8_t protocol; // IANA number
    std::uint16_t port;    // destination port; 0 for ICMP
};

inline bool labels_match(const std::optional<PodLabels>& pod, const schema::IdentityLabelMatch& m) {
    if (!pod)
        return false;
    const auto has_all = [](const std::map<std::string, std::string>& have,
                            const std::map<std::string, std::string>& want) {
        return std::all_of(want.begin(), want.end(), [&](const auto& kv) {
            const auto it = have.find(kv.first);
            return it != have.end() && it->second == kv.second;
        });
    };
    return has_all(pod->pod, m.pod_labels) && has_all(pod->namespace_, m.namespace_labels);
}

inline bool peer_matches(const Packet& p, const schema::PolicyPeer& peer) {
    if (const auto* kind = std::get_if<schema::ReservedIdentityKind>(&peer)) {
        switch (*kind) {
        case schema::ReservedIdentityKind::host:
            return p.peer_kind == PeerKind::this_node;
        case schema::ReservedIdentityKind::remoteNode:
            return p.peer_kind == PeerKind::other_node;
        case schema::ReservedIdentityKind::world:
            return p.peer_kind == PeerKind::outside;
        default: // kubeApiserver, health, unmanaged: nothing is marked with them
            return false;
        }
    }
    if (const auto* prefix = std::get_if<net::Prefix>(&peer))
        return prefix->contains(p.peer_address); // any holder of the address, pods too
    return p.peer_kind == PeerKind::pod &&
           labels_match(p.peer_labels, std::get<schema::IdentityLabelMatch>(peer));
}

inline bool port_matches(const Packet& p, const schema::PolicyPort& port) {
    if (p.protocol != static_cast<std::uint8_t>(port.protocol))
        return false;
    if (port.port == 0)
        return true;
    const std::uint16_t last = port.end_port ? port.end_port : port.port;
    return p.port >= port.port && p.port <= last;
}

inline bool rule_matches(const Packet& p, const schema::BaselineRule& r) {
    if (r.direction != p.direction)
        return false;
    const bool every_pod = r.subject.pod_labels.empty() && r.subject.namespace_labels.empty();
    if (!every_pod && !labels_match(p.local, r.subject))
        return false;
    if (std::none_of(r.peers.begin(), r.peers.end(),
                     [&](const auto& peer) { return peer_matches(p, peer); }))
        return false;
    return r.ports.empty() || std::any_of(r.ports.begin(), r.ports.end(), [&](const auto& port) {
               return port_matches(p, port);
           });
}

inline Verdict decide(const schema::BaselinePolicy& policy, const Packet& p) {
    std::vector<std::size_t> order(policy.rules.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return policy.rules[a].priority < policy.rules[b].priority;
    });
    for (std::size_t i : order)
        if (rule_matches(p, policy.rules[i]))
            switch (policy.rules[i].action) {
            case schema::PolicyAction::allow:
                return Verdict::allow;
            case schema::PolicyAction::deny:
                return Verdict::deny;
            case schema::PolicyAction::pass:
                return Verdict::pass;
            }
    return Verdict::pass;
}

} // namespace kpr::baseline_reference
