// Decoding a discovery.k8s.io/v1 EndpointSlice into the typed EndpointSlice,
// checking what the API server would check of the fields kpr acts on and
// applying the API's defaults to absent conditions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/common_fields.hpp"
#include "kpr/k8s/endpoint_slice.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::k8s {

// The label that ties a slice to its Service.
inline constexpr std::string_view service_name_label = "kubernetes.io/service-name";

inline std::optional<AddressType> parse_address_type(std::string_view s) {
    if (s == "IPv4")
        return AddressType::IPv4;
    if (s == "IPv6")
        return AddressType::IPv6;
    if (s == "FQDN")
        return AddressType::FQDN;
    return std::nullopt;
}

inline EndpointConditions decode_endpoint_conditions(yaml::FieldReader& reader, const yaml::YamlField& field) {
    EndpointConditions conditions;
    reader.expect_map(field);
    conditions.ready = reader.read_bool(field.child("ready")).value_or(conditions.ready);
    conditions.serving = reader.read_bool(field.child("serving")).value_or(conditions.serving);
    conditions.terminating =
        reader.read_bool(field.child("terminating")).value_or(conditions.terminating);
    return conditions;
}

// endpoints[].addresses: at least one, each of the slice's family. FQDN
// slices' names are checked to be strings but not kept: kpr balances over
// IP addresses only.
inline std::vector<net::Address> decode_endpoint_addresses(yaml::FieldReader& reader,
                                                           const yaml::YamlField& field,
                                                           std::optional<AddressType> type) {
    std::vector<net::Address> addresses;
    if (!reader.require(field))
        return addresses;
    const std::vector<yaml::YamlField> items = reader.read_list(field);
    if (items.empty() && field.node().IsSequence())
        reader.report(field, "at least one address is required");
    for (const yaml::YamlField& item : items) {
        if (!type || *type == AddressType::FQDN) {
            reader.read_string(item);
            continue;
        }
        const auto address = read_address(reader, item);
        if (!address)
            continue;
        const net::Family family =
            *type == AddressType::IPv4 ? net::Family::ipv4 : net::Family::ipv6;
        if (address->family() != family)
            reader.report(item,
                          fmt::format("{:?} is an {} address but addressType is {}", address->str(),
                                      net::to_string(address->family()), net::to_string(family)));
        addresses.push_back(*address);
    }
    return addresses;
}

inline Endpoint decode_endpoint(yaml::FieldReader& reader, const yaml::YamlField& field,
                                std::optional<AddressType> type) {
    Endpoint endpoint;
    endpoint.addresses = decode_endpoint_addresses(reader, field.child("addresses"), type);
    endpoint.conditions = decode_endpoint_conditions(reader, field.child("conditions"));
    endpoint.node_name = reader.read_string(field.child("nodeName")).value_or("");
    endpoint.zone = reader.read_string(field.child("zone")).value_or("");
    return endpoint;
}

inline EndpointPort decode_endpoint_port(yaml::FieldReader& reader, const yaml::YamlField& field) {
    EndpointPort port;
    port.name = reader.read_string(field.child("name")).value_or("");
    port.protocol = read_protocol(reader, field.child("protocol"));
    port.port = read_port_number(reader, field.child("port"));
    return port;
}

// The EndpointSlice in the document; meaningful only when the reader
// reported no new error.
inline EndpointSlice decode_endpoint_slice(yaml::FieldReader& reader, const yaml::YamlField& document,
                                           ObjectMeta meta) {
    EndpointSlice slice;
    slice.meta = std::move(meta);
    if (auto it = slice.meta.labels.find(std::string(service_name_label));
        it != slice.meta.labels.end())
        slice.service_name = it->second;

    std::optional<AddressType> type;
    const yaml::YamlField type_field = document.child("addressType");
    if (reader.require(type_field)) {
        if (auto text = reader.read_string(type_field)) {
            type = parse_address_type(*text);
            if (!type)
                reader.report(type_field,
                              fmt::format("unsupported address type {:?} (expected IPv4, IPv6 or "
                                          "FQDN)",
                                          *text));
        }
    }
    if (type)
        slice.address_type = *type;

    for (const yaml::YamlField& field : reader.read_list(document.child("endpoints")))
        if (reader.require_map(field))
            slice.endpoints.push_back(decode_endpoint(reader, field, type));
    for (const yaml::YamlField& field : reader.read_list(document.child("ports")))
        if (reader.require_map(field))
            slice.ports.push_back(decode_endpoint_port(reader, field));
    return slice;
}

} // namespace kpr::k8s
