// Decoding a networking.k8s.io/v1 NetworkPolicy into the typed
// NetworkPolicy, validated as the API server's ValidateNetworkPolicySpec
// does and defaulted as it defaults: policyTypes (Ingress, plus Egress when
// there are egress rules), port protocol (TCP). A peer names selectors or an
// ipBlock, not both and not neither; an ipBlock's excepts lie strictly
// inside its cidr; endPort needs a numeric port no greater than itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/common_fields.hpp"
#include "kpr/k8s/label_selector_decode.hpp"
#include "kpr/k8s/network_policy.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::k8s {

inline std::optional<net::Prefix> read_prefix(yaml::FieldReader& reader,
                                              const yaml::YamlField& field) {
    const auto text = reader.read_string(field);
    if (!text)
        return std::nullopt;
    if (auto prefix = net::Prefix::parse(*text))
        return prefix;
    reader.report(
        field, fmt::format("{:?} is not a CIDR block (such as 10.0.0.0/16 or fd00::/64)", *text));
    return std::nullopt;
}

inline std::optional<IpBlock> decode_ip_block(yaml::FieldReader& reader,
                                              const yaml::YamlField& field) {
    const yaml::YamlField cidr_field = field.child("cidr");
    if (!reader.require(cidr_field))
        return std::nullopt;
    const auto cidr = read_prefix(reader, cidr_field);
    const std::vector<yaml::YamlField> except_fields = reader.read_list(field.child("except"));
    if (!cidr)
        return std::nullopt;
    IpBlock block{*cidr, {}};
    for (const yaml::YamlField& item : except_fields) {
        const auto except = read_prefix(reader, item);
        if (!except)
            continue;
        if (!cidr->contains(*except) || except->length() <= cidr->length())
            reader.report(item, fmt::format("{} must be a strict subset of cidr {}", except->str(),
                                            cidr->str()));
        block.except.push_back(*except);
    }
    return block;
}

inline NetworkPolicyPeer decode_policy_peer(yaml::FieldReader& reader,
                                            const yaml::YamlField& field) {
    NetworkPolicyPeer peer;
    peer.pod_selector = decode_label_selector(reader, field.child("podSelector"));
    peer.namespace_selector = decode_label_selector(reader, field.child("namespaceSelector"));
    const yaml::YamlField block = field.child("ipBlock");
    if (reader.expect_map(block))
        peer.ip_block = decode_ip_block(reader, block);
    const bool selectors =
        field.child("podSelector").present() || field.child("namespaceSelector").present();
    if (block.present() && selectors)
        reader.report(field, "may not specify both ipBlock and another peer");
    else if (!block.present() && !selectors)
        reader.report(field, "must specify a peer (podSelector, namespaceSelector or ipBlock)");
    return peer;
}

inline NetworkPolicyPort decode_policy_port(yaml::FieldReader& reader,
                                            const yaml::YamlField& field) {
    NetworkPolicyPort port;
    port.protocol = read_protocol(reader, field.child("protocol"));
    const yaml::YamlField number = field.child("port");
    port.port = read_port_number_or_name(reader, number);
    const yaml::YamlField end = field.child("endPort");
    const auto end_port = reader.read_integer(end, 1, 65535);
    if (!end_port)
        return port;
    port.end_port = static_cast<std::uint16_t>(*end_port);
    if (!number.present())
        reader.report(end, "may not be specified when port is not specified");
    else if (port.port && std::holds_alternative<std::string>(*port.port))
        reader.report(end, "may not be specified when port is non-numeric");
    else if (port.port && *port.end_port < std::get<std::uint16_t>(*port.port))
        reader.report(end, fmt::format("must be greater than or equal to port ({} < {})",
                                       *port.end_port, std::get<std::uint16_t>(*port.port)));
    return port;
}

// spec.ingress or spec.egress, whose rules list their peers under
// peers_key ("from" or "to").
inline std::vector<NetworkPolicyRule> decode_policy_rules(yaml::FieldReader& reader,
                                                          const yaml::YamlField& field,
                                                          std::string_view peers_key) {
    std::vector<NetworkPolicyRule> rules;
    for (const yaml::YamlField& item : reader.read_list(field)) {
        NetworkPolicyRule rule;
        // A null rule ("- {}" written as "-") is the empty rule: it allows everything.
        if (item.present() && !reader.expect_map(item))
            continue;
        for (const yaml::YamlField& peer : reader.read_list(item.child(peers_key)))
            if (reader.require_map(peer))
                rule.peers.push_back(decode_policy_peer(reader, peer));
        for (const yaml::YamlField& port : reader.read_list(item.child("ports")))
            if (reader.require_map(port))
                rule.ports.push_back(decode_policy_port(reader, port));
        rules.push_back(std::move(rule));
    }
    return rules;
}

// The NetworkPolicy in the document; meaningful only when the reader
// reported no new error.
inline NetworkPolicy decode_network_policy(yaml::FieldReader& reader,
                                           const yaml::YamlField& document, ObjectMeta meta) {
    NetworkPolicy policy;
    policy.meta = std::move(meta);
    const yaml::YamlField spec = document.child("spec");
    if (!reader.require_map(spec))
        return policy;
    // A struct, not a pointer, in the API: absent is the empty selector.
    policy.pod_selector =
        decode_label_selector(reader, spec.child("podSelector")).value_or(LabelSelector{});
    policy.ingress = decode_policy_rules(reader, spec.child("ingress"), "from");
    policy.egress = decode_policy_rules(reader, spec.child("egress"), "to");

    const yaml::YamlField types = spec.child("policyTypes");
    const std::vector<yaml::YamlField> type_fields = reader.read_list(types);
    if (type_fields.empty()) {
        policy.ingress_type = true;
        policy.egress_type = !policy.egress.empty();
        return policy;
    }
    policy.ingress_type = policy.egress_type = false;
    if (type_fields.size() > 2)
        reader.report(types, "may not specify more than two policyTypes");
    for (const yaml::YamlField& item : type_fields) {
        const auto text = reader.read_string(item);
        if (text == "Ingress")
            policy.ingress_type = true;
        else if (text == "Egress")
            policy.egress_type = true;
        else if (text)
            reader.report(item, fmt::format("unsupported policy type {:?} (expected Ingress or "
                                            "Egress)",
                                            *text));
    }
    return policy;
}

} // namespace kpr::k8s
