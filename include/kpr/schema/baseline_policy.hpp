// The static baseline policy: the cluster-wide rules known at build time,
// shaped like AdminNetworkPolicy (ordered by priority, each Allow, Deny or
// Pass). They are evaluated before the NetworkPolicy objects a cluster
// changes at run time; Pass hands the decision to those. Peers are what a
// build can know: reserved identities, CIDRs, and identity-label matches.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kpr/k8s/protocol.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/schema/identity_schema.hpp"

namespace kpr::schema {

enum class PolicyAction { allow, deny, pass };
enum class PolicyDirection { ingress, egress };

inline std::string_view to_string(PolicyAction a) {
    return a == PolicyAction::allow ? "Allow" : a == PolicyAction::deny ? "Deny" : "Pass";
}
inline std::string_view to_string(PolicyDirection d) {
    return d == PolicyDirection::ingress ? "Ingress" : "Egress";
}

// Pods whose identity-relevant labels, and those of their namespace, include
// these (an empty map matches every pod, as an empty selector does).
struct IdentityLabelMatch {
    std::map<std::string, std::string> pod_labels;
    std::map<std::string, std::string> namespace_labels;
    bool operator==(const IdentityLabelMatch&) const = default;
};

using PolicyPeer = std::variant<ReservedIdentityKind, net::Prefix, IdentityLabelMatch>;

struct PolicyPort {
    k8s::Protocol protocol = k8s::Protocol::TCP;
    std::uint16_t port = 0;     // 0: every port of the protocol
    std::uint16_t end_port = 0; // a range port..end_port when non-zero
    bool operator==(const PolicyPort&) const = default;
};

inline constexpr std::uint32_t max_policy_priority = 1000;

struct BaselineRule {
    std::string name;
    std::uint32_t priority = 0; // lower first; equal priorities keep document order
    PolicyAction action = PolicyAction::deny;
    PolicyDirection direction = PolicyDirection::ingress;
    IdentityLabelMatch subject;    // the pods the rule applies to
    std::vector<PolicyPeer> peers; // at least one
    std::vector<PolicyPort> ports; // empty: every port and protocol
    bool operator==(const BaselineRule&) const = default;
};

struct BaselinePolicy {
    std::vector<BaselineRule> rules;
    bool operator==(const BaselinePolicy&) const = default;
};

// The rules in the order they are evaluated: by priority, lower first,
// rules of equal priority in document order.
inline std::vector<const BaselineRule*> rules_in_evaluation_order(const BaselinePolicy& policy) {
    std::vector<const BaselineRule*> out;
    for (const auto& rule : policy.rules)
        out.push_back(&rule);
    std::stable_sort(out.begin(), out.end(), [](const BaselineRule* a, const BaselineRule* b) {
        return a->priority < b->priority;
    });
    return out;
}

// The distinct label matches the rules use (non-empty subjects, label
// peers), in order of first appearance in the document. Match i is bit i of
// an identity's entry in the identity-match map (layout/idmatch.hpp): the
// generator and the agent both number them with this function. An empty
// subject is no match: it stands for every pod, which needs no test.
inline std::vector<IdentityLabelMatch> baseline_label_matches(const BaselinePolicy& policy) {
    std::vector<IdentityLabelMatch> out;
    const auto add = [&](const IdentityLabelMatch& m) {
        if (std::find(out.begin(), out.end(), m) == out.end())
            out.push_back(m);
    };
    for (const auto& rule : policy.rules) {
        if (rule.subject != IdentityLabelMatch{})
            add(rule.subject);
        for (const auto& peer : rule.peers)
            if (const auto* labels = std::get_if<IdentityLabelMatch>(&peer))
                add(*labels);
    }
    return out;
}

} // namespace kpr::schema
