// Decoding a v1/Node: the IP addresses of status.addresses (types
// InternalIP and ExternalIP; Hostname, InternalDNS and ExternalDNS entries
// hold names and are skipped), each a valid address, listed once.
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>

#include "kpr/k8s/common_fields.hpp"
#include "kpr/k8s/node.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::k8s {

// The Node in the document; meaningful only when the reader reported no
// new error.
inline Node decode_node(yaml::FieldReader& reader, const yaml::YamlField& document, ObjectMeta meta) {
    Node out;
    out.meta = std::move(meta);
    out.meta.namespace_.clear();
    for (const yaml::YamlField& item : reader.read_list(document.child("status").child("addresses"))) {
        if (!reader.require_map(item))
            continue;
        const yaml::YamlField type_field = item.child("type");
        const yaml::YamlField address_field = item.child("address");
        if (!reader.require(type_field) || !reader.require(address_field))
            continue;
        const auto type = reader.read_string(type_field);
        if (!type || (*type != "InternalIP" && *type != "ExternalIP"))
            continue;
        const auto address = read_address(reader, address_field);
        if (!address)
            continue;
        if (std::find(out.addresses.begin(), out.addresses.end(), *address) == out.addresses.end())
            out.addresses.push_back(*address);
    }
    return out;
}

} // namespace kpr::k8s
