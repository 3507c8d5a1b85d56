// Decodes spec.baselinePolicy of a cluster schema, checking each rule
// against the rest of the schema: reserved identities must be defined in
// spec.identity, label matches may use only identity-relevant keys, CIDRs
// only enabled families, and rules need the TC programs that enforce them.
//
//   baselinePolicy:
//     rules:
//     - name: deny-metadata-service        # DNS label, unique
//       priority: 10                       # 0-1000, lower first
//       action: Deny                       # Allow | Deny | Pass
//       direction: Egress                  # Ingress | Egress
//       subject: {podLabels: {app: web}}   # default: every pod
//       peers:                             # at least one; each exactly one kind
//       - cidr: 169.254.169.254/32
//       - reserved: world
//       - {podLabels: {app: dns}, namespaceLabels: {"kubernetes.io/metadata.name": kube-system}}
//       ports:                             # default: every port
//       - {protocol: TCP, port: 8000, endPort: 8100}
#pragma once

#include <set>
#include <string>

#include <fmt/format.h>

#include "kpr/layout/idmatch.hpp"
#include "kpr/schema/baseline_policy.hpp"
#include "kpr/schema/decode_support.hpp"
#include "kpr/schema/identity_schema.hpp"

namespace kpr::schema::detail {

struct PolicyContext {
    const IdentitySchema& identity;
    const std::set<net::Family>& families;
    bool ingress_enforced; // spec.tcPrograms has podIngress
    bool egress_enforced;  // spec.tcPrograms has podEgress
};

inline std::map<std::string, std::string> read_label_match(yaml::FieldReader& r,
                                                           const yaml::YamlField& field,
                                                           const IdentitySchema& identity,
                                                           bool namespace_labels) {
    std::map<std::string, std::string> out;
    if (!r.expect_map(field))
        return out;
    for (const auto& [key, value] : field.entries()) {
        const auto text = r.read_string(value);
        if (const auto problem = k8s::label_key_problem(key)) {
            r.report(value, fmt::format("{:?} is not a label key: {}", key, *problem));
            continue;
        }
        if (namespace_labels ? !identity.namespace_label_counts(key)
                             : !identity.pod_label_counts(key)) {
            r.report(
                value,
                fmt::format("{:?} is not an identity-relevant label key (spec.identity.{}), so no "
                            "identity can be matched by it",
                            key, namespace_labels ? "namespaceLabelKeys" : "podLabelKeys"));
            continue;
        }
        if (const auto problem = text ? k8s::label_value_problem(*text) : std::nullopt) {
            r.report(value, fmt::format("{:?} is not a label value: {}", *text, *problem));
            continue;
        }
        if (text)
            out.emplace(key, *text);
    }
    return out;
}

inline IdentityLabelMatch read_identity_labels(yaml::FieldReader& r, const yaml::YamlField& field,
                                               const IdentitySchema& identity) {
    return {read_label_match(r, field.child("podLabels"), identity, false),
            read_label_match(r, field.child("namespaceLabels"), identity, true)};
}

inline std::optional<PolicyPeer> read_peer(yaml::FieldReader& r, const yaml::YamlField& peer,
                                           const PolicyContext& context) {
    if (!r.require_map(peer))
        return std::nullopt;
    r.reject_unknown_fields(peer, {"reserved", "cidr", "podLabels", "namespaceLabels"});
    const bool reserved = peer.child("reserved").present();
    const bool cidr = peer.child("cidr").present();
    const bool labels =
        peer.child("podLabels").present() || peer.child("namespaceLabels").present();
    if (reserved + cidr + labels != 1) {
        r.report(peer,
                 "a peer is exactly one of reserved, cidr, or podLabels and/or namespaceLabels");
        return std::nullopt;
    }
    if (reserved) {
        const auto kind = read_choice<ReservedIdentityKind>(r, peer.child("reserved"),
                                                            all_reserved_identity_kinds);
        if (kind && !context.identity.number_of(*kind)) {
            r.report(peer.child("reserved"),
                     fmt::format("{:?} has no number in spec.identity.reserved", to_string(*kind)));
            return std::nullopt;
        }
        return kind ? std::optional<PolicyPeer>(*kind) : std::nullopt;
    }
    if (cidr) {
        const auto value = read_cidr(r, peer.child("cidr"));
        if (value && !context.families.contains(value->family())) {
            r.report(peer.child("cidr"),
                     fmt::format("an {} CIDR, but spec.families has no {}",
                                 net::to_string(value->family()), net::to_string(value->family())));
            return std::nullopt;
        }
        return value ? std::optional<PolicyPeer>(*value) : std::nullopt;
    }
    return read_identity_labels(r, peer, context.identity);
}

inline std::optional<PolicyPort> read_policy_port(yaml::FieldReader& r,
                                                  const yaml::YamlField& field) {
    if (!r.require_map(field))
        return std::nullopt;
    r.reject_unknown_fields(field, {"protocol", "port", "endPort"});
    PolicyPort port;
    const std::size_t errors = r.error_count();
    if (r.require(field.child("protocol")))
        if (auto p = read_choice<k8s::Protocol>(
                r, field.child("protocol"),
                std::initializer_list<k8s::Protocol>{k8s::Protocol::TCP, k8s::Protocol::UDP,
                                                     k8s::Protocol::SCTP}))
            port.protocol = *p;
    if (auto p = r.read_integer(field.child("port"), 1, 65535))
        port.port = static_cast<std::uint16_t>(*p);
    if (auto e = r.read_integer(field.child("endPort"), 1, 65535)) {
        port.end_port = static_cast<std::uint16_t>(*e);
        if (!field.child("port").present())
            r.report(field.child("endPort"), "needs port, the start of the range");
        else if (port.port != 0 && port.end_port < port.port)
            r.report(field.child("endPort"),
                     fmt::format("{} is below port {}: a range runs from port to endPort",
                                 port.end_port, port.port));
    }
    return r.error_count() == errors ? std::optional<PolicyPort>(port) : std::nullopt;
}

inline BaselinePolicy read_baseline_policy(yaml::FieldReader& r, const yaml::YamlField& field,
                                           const PolicyContext& context) {
    BaselinePolicy policy;
    if (!r.expect_map(field))
        return policy;
    r.reject_unknown_fields(field, {"rules"});
    std::set<std::string> names;
    for (const auto& item : r.read_list(field.child("rules"))) {
        if (!r.require_map(item))
            continue;
        r.reject_unknown_fields(
            item, {"name", "priority", "action", "direction", "subject", "peers", "ports"});
        BaselineRule rule;
        if (r.require(item.child("name")))
            if (const auto name = r.read_string(item.child("name"))) {
                if (!is_dns_label(*name))
                    r.report(item.child("name"), fmt::format("{:?} is not a DNS label", *name));
                else if (!names.insert(*name).second)
                    r.report(item.child("name"), fmt::format("{:?} names another rule too", *name));
                rule.name = *name;
            }
        if (r.require(item.child("priority")))
            if (auto p = r.read_integer(item.child("priority"), 0, max_policy_priority))
                rule.priority = static_cast<std::uint32_t>(*p);
        if (r.require(item.child("action")))
            if (auto a = read_choice<PolicyAction>(
                    r, item.child("action"),
                    std::initializer_list<PolicyAction>{PolicyAction::allow, PolicyAction::deny,
                                                        PolicyAction::pass}))
                rule.action = *a;
        if (r.require(item.child("direction")))
            if (auto d = read_choice<PolicyDirection>(
                    r, item.child("direction"),
                    std::initializer_list<PolicyDirection>{PolicyDirection::ingress,
                                                           PolicyDirection::egress})) {
                rule.direction = *d;
                const bool ingress = *d == PolicyDirection::ingress;
                if (!(ingress ? context.ingress_enforced : context.egress_enforced))
                    r.report(item.child("direction"),
                             fmt::format("{} rules are enforced by the {} TC program, which "
                                         "spec.tcPrograms does not "
                                         "list",
                                         to_string(*d), ingress ? "podIngress" : "podEgress"));
            }
        if (const auto subject = item.child("subject"); r.expect_map(subject)) {
            r.reject_unknown_fields(subject, {"podLabels", "namespaceLabels"});
            rule.subject = read_identity_labels(r, subject, context.identity);
        }
        if (r.require(item.child("peers"))) {
            for (const auto& peer : r.read_list(item.child("peers")))
                if (auto p = read_peer(r, peer, context))
                    rule.peers.push_back(std::move(*p));
            if (item.child("peers").node().IsSequence() && item.child("peers").node().size() == 0)
                r.report(item.child("peers"), "at least one peer is required");
        }
        for (const auto& port : r.read_list(item.child("ports")))
            if (auto p = read_policy_port(r, port))
                rule.ports.push_back(*p);
        policy.rules.push_back(std::move(rule));
    }
    if (const auto matches = baseline_label_matches(policy).size();
        matches > layout::max_baseline_label_matches)
        r.report(field.child("rules"),
                 fmt::format("the rules use {} distinct label matches (subjects and label peers); "
                             "the data path tests at most {} (layout/idmatch.hpp)",
                             matches, layout::max_baseline_label_matches));
    return policy;
}

} // namespace kpr::schema::detail
