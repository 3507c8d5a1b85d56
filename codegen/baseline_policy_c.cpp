// The baseline rules as C: one `if (...) return VERDICT;` per rule, in
// evaluation order, each condition the conjunction of its subject, the
// disjunction of its peers and the disjunction of its ports.
#include "codegen/baseline_policy_c.hpp"

#include <variant>
#include <vector>

#include <fmt/format.h>

#include "kpr/layout/idmatch.hpp"

namespace kpr::codegen {
namespace {

using schema::BaselineRule;
using schema::IdentityLabelMatch;
using schema::PolicyDirection;

std::size_t match_index(const std::vector<IdentityLabelMatch>& matches,
                        const IdentityLabelMatch& m) {
    return static_cast<std::size_t>(std::find(matches.begin(), matches.end(), m) -
                                    matches.begin());
}

std::string bit_test(std::string_view bits, std::size_t index) {
    return fmt::format("{}[{}] & (1ULL << {})", bits, index / 64, index % 64);
}

std::uint32_t address_word(const net::Prefix& prefix, int word) {
    const net::Address address = prefix.address();
    const auto& b = address.v6_bytes();
    const auto at = static_cast<std::size_t>(word) * 4;
    return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 |
           std::uint32_t{b[at + 2]} << 8 | b[at + 3];
}

// The address in the prefix, one 32-bit word at a time (in network order
// in struct kpr_policy_subject; bpf_htonl of a constant folds at compile
// time, whatever the target's byte order).
std::string cidr_test(const net::Prefix& prefix) {
    const bool v4 = prefix.family() == net::Family::ipv4;
    std::string out = fmt::format("s->family == {}", v4 ? 4 : 6);
    for (int word = 0, remaining = prefix.length(); remaining > 0; ++word, remaining -= 32) {
        const std::uint32_t value = address_word(prefix, word);
        if (remaining >= 32)
            out += fmt::format(" && s->peer_addr[{}] == bpf_htonl(0x{:08x})", word, value);
        else
            out += fmt::format(" && (s->peer_addr[{}] & bpf_htonl(0x{:08x})) == bpf_htonl(0x{:08x})",
                               word, ~std::uint32_t{0} << (32 - remaining), value);
    }
    return out;
}

struct RuleEmitter {
    const schema::IdentitySchema& identity;
    const std::vector<IdentityLabelMatch>& matches;

    std::string peer_test(const schema::PolicyPeer& peer) const {
        if (const auto* kind = std::get_if<schema::ReservedIdentityKind>(&peer)) {
            const std::uint32_t number = identity.number_of(*kind).value();
            // world: any address no pod or node holds, which the ipcache
            // gives its CIDR identity (or world) as its identity too —
            // whatever blocks NetworkPolicies happen to name.
            if (*kind == schema::ReservedIdentityKind::world)
                return "peer_outside";
            return fmt::format("s->peer_identity == {}", number);
        }
        if (const auto* prefix = std::get_if<net::Prefix>(&peer))
            return cidr_test(*prefix);
        return bit_test("peer_matches", match_index(matches, std::get<IdentityLabelMatch>(peer)));
    }

    static std::string port_test(const schema::PolicyPort& port) {
        const std::string_view proto = port.protocol == k8s::Protocol::TCP   ? "IPPROTO_TCP"
                                       : port.protocol == k8s::Protocol::UDP ? "IPPROTO_UDP"
                                                                             : "IPPROTO_SCTP";
        if (port.port == 0)
            return fmt::format("s->proto == {}", proto);
        if (port.end_port == 0 || port.end_port == port.port)
            return fmt::format("s->proto == {} && s->dport == {}", proto, port.port);
        return fmt::format("s->proto == {} && s->dport >= {} && s->dport <= {}", proto, port.port,
                           port.end_port);
    }

    // Terms joined by ||, each parenthesised when there are several.
    static std::string any_of(const std::vector<std::string>& terms) {
        if (terms.size() == 1)
            return terms.front();
        std::string out;
        for (const auto& t : terms)
            out += fmt::format("{}({})", out.empty() ? "" : " ||\n\t     ", t);
        return out;
    }

    std::string rule(const BaselineRule& r) const {
        std::vector<std::string> all;
        if (r.subject != IdentityLabelMatch{})
            all.push_back(bit_test("local_matches", match_index(matches, r.subject)));
        std::vector<std::string> peers;
        for (const auto& p : r.peers)
            peers.push_back(peer_test(p));
        all.push_back(any_of(peers));
        if (!r.ports.empty()) {
            std::vector<std::string> ports;
            for (const auto& p : r.ports)
                ports.push_back(port_test(p));
            all.push_back(any_of(ports));
        }
        std::string condition;
        for (const auto& term : all) {
            const bool simple = term.find(' ') == std::string::npos ||
                                (all.size() == 1 && term.find("||") == std::string::npos);
            condition += condition.empty() ? "" : " &&\n\t    ";
            condition += simple ? term : "(" + term + ")";
        }
        const std::string_view verdict = r.action == schema::PolicyAction::allow ? "ALLOW"
                                         : r.action == schema::PolicyAction::deny ? "DENY"
                                                                                  : "PASS";
        return fmt::format("\t/* {}, priority {}: {} */\n\tif ({})\n\t\treturn KPR_BASELINE_{};\n",
                           r.name, r.priority, to_string(r.action), condition, verdict);
    }
};

bool has_label_peer(const BaselineRule& r) {
    for (const auto& p : r.peers)
        if (std::holds_alternative<IdentityLabelMatch>(p))
            return true;
    return false;
}

bool has_world_peer(const BaselineRule& r) {
    for (const auto& p : r.peers)
        if (const auto* kind = std::get_if<schema::ReservedIdentityKind>(&p))
            if (*kind == schema::ReservedIdentityKind::world)
                return true;
    return false;
}

std::string direction_function(const schema::ClusterSchema& schema, PolicyDirection direction,
                               const std::vector<IdentityLabelMatch>& matches) {
    std::vector<const BaselineRule*> rules;
    for (const BaselineRule* r : schema::rules_in_evaluation_order(schema.baseline_policy))
        if (r->direction == direction)
            rules.push_back(r);
    const std::string_view name = direction == PolicyDirection::ingress ? "ingress" : "egress";
    std::string out = fmt::format(
        "/* {} {} rule{}, first match decides. */\n"
        "static __always_inline int kpr_baseline_{}(const struct kpr_policy_subject *s)\n{{\n",
        rules.size(), name, rules.size() == 1 ? "" : "s", name);
    if (rules.empty())
        return out + "\t(void)s;\n\treturn KPR_BASELINE_PASS;\n}\n";

    bool subjects = false, label_peers = false, world = false;
    for (const BaselineRule* r : rules) {
        subjects = subjects || r->subject != IdentityLabelMatch{};
        label_peers = label_peers || has_label_peer(*r);
        world = world || has_world_peer(*r);
    }
    if (subjects)
        out += fmt::format("\t__u64 local_matches[{}];\n", layout::idmatch_words);
    if (label_peers)
        out += fmt::format("\t__u64 peer_matches[{}];\n", layout::idmatch_words);
    if (world)
        out += fmt::format("\tconst bool peer_outside = s->peer_identity == {} ||\n"
                           "\t\t\t\t  s->peer_identity == s->peer_cidr_identity;\n",
                           schema.identity.number_of(schema::ReservedIdentityKind::world).value());
    if (subjects || label_peers || world)
        out += "\n";
    if (subjects)
        out += "\tkpr_idmatch_bits(s->local_identity, local_matches);\n";
    if (label_peers)
        out += "\tkpr_idmatch_bits(s->peer_identity, peer_matches);\n";
    if (subjects || label_peers)
        out += "\n";
    const RuleEmitter emitter{schema.identity, matches};
    for (const BaselineRule* r : rules)
        out += emitter.rule(*r);
    return out + "\treturn KPR_BASELINE_PASS;\n}\n";
}

std::string label_list(const std::map<std::string, std::string>& labels) {
    std::string out;
    for (const auto& [key, value] : labels)
        out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", key, value);
    return "{" + out + "}";
}

} // namespace

bool baseline_uses_idmatch(const schema::ClusterSchema& schema) {
    return !schema::baseline_label_matches(schema.baseline_policy).empty();
}

std::string emit_baseline_policy_c(const schema::ClusterSchema& schema) {
    const auto matches = schema::baseline_label_matches(schema.baseline_policy);
    std::string out = "/* The baseline policy (spec.baselinePolicy), unrolled by kpr-gen. */\n";
    if (!matches.empty()) {
        out += "/* Label matches, bit i of an identity's kpr_idmatch entry:\n";
        for (std::size_t i = 0; i < matches.size(); ++i)
            out += fmt::format(" *   {}: podLabels {}, namespaceLabels {}\n", i,
                               label_list(matches[i].pod_labels),
                               label_list(matches[i].namespace_labels));
        out += fmt::format(
            " */\n"
            "static __always_inline void kpr_idmatch_bits(__u32 identity, __u64 *bits)\n"
            "{{\n"
            "\tstruct kpr_idmatch_key key = {{.identity = identity}};\n"
            "\tconst struct kpr_idmatch_value *v = bpf_map_lookup_elem(&kpr_idmatch, &key);\n"
            "\n"
            "\tif (v)\n"
            "\t\t__builtin_memcpy(bits, v->bits, {0});\n"
            "\telse\n"
            "\t\t__builtin_memset(bits, 0, {0});\n"
            "}}\n",
            layout::idmatch_words * 8);
    }
    out += "\n" + direction_function(schema, PolicyDirection::ingress, matches);
    out += "\n" + direction_function(schema, PolicyDirection::egress, matches);
    return out;
}

} // namespace kpr::codegen
