// Decodes spec.identity of a cluster schema:
//
//   identity:
//     podLabelKeys: [app, "app.kubernetes.io/*"]   # default ["*"]: every label
//     namespaceLabelKeys: ["kubernetes.io/metadata.name"]   # default ["*"]
//     excludedLabelKeys: [pod-template-hash]        # default: keys unique per pod or rollout
//     reserved: {host: 1, world: 2, remoteNode: 6, kubeApiserver: 7}   # host and world required
//     firstAllocated: 256                           # pods' identities start here
#pragma once

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/schema/decode_support.hpp"
#include "kpr/schema/identity_schema.hpp"

namespace kpr::schema::detail {

inline std::vector<LabelKeyPattern> read_label_key_patterns(yaml::FieldReader& r,
                                                            const yaml::YamlField& field,
                                                            bool may_be_empty = false) {
    std::vector<LabelKeyPattern> out;
    std::set<std::string> seen;
    for (const auto& item : r.read_list(field)) {
        const auto text = r.read_string(item);
        if (!text)
            continue;
        const bool prefix = !text->empty() && text->back() == '*';
        // A prefix is checked as a key by completing it with one letter.
        const auto problem =
            *text == "*"
                ? std::nullopt
                : k8s::label_key_problem(prefix ? text->substr(0, text->size() - 1) + "x" : *text);
        if (problem) {
            r.report(item, fmt::format(
                               "{:?} is not a label key, nor a label key prefix ending in '*': {}",
                               *text, *problem));
            continue;
        }
        if (!seen.insert(*text).second) {
            r.report(item, fmt::format("{:?} is listed twice", *text));
            continue;
        }
        out.push_back({*text});
    }
    if (!may_be_empty && field.present() && field.node().IsSequence() && field.node().size() == 0)
        r.report(field, "at least one label key is required (\"*\" counts every label)");
    return out;
}

inline IdentitySchema read_identity_schema(yaml::FieldReader& r, const yaml::YamlField& field) {
    IdentitySchema identity;
    if (!r.expect_map(field))
        return identity;
    r.reject_unknown_fields(field, {"podLabelKeys", "namespaceLabelKeys", "excludedLabelKeys",
                                    "reserved", "firstAllocated"});
    if (field.child("podLabelKeys").present())
        identity.pod_label_keys = read_label_key_patterns(r, field.child("podLabelKeys"));
    if (field.child("namespaceLabelKeys").present())
        identity.namespace_label_keys =
            read_label_key_patterns(r, field.child("namespaceLabelKeys"));
    if (field.child("excludedLabelKeys").present())
        identity.excluded_label_keys =
            read_label_key_patterns(r, field.child("excludedLabelKeys"), true);
    if (auto first = r.read_integer(field.child("firstAllocated"), 2, max_identity))
        identity.first_allocated = static_cast<std::uint32_t>(*first);

    const auto reserved = field.child("reserved");
    if (r.expect_map(reserved)) {
        identity.reserved.clear();
        std::vector<std::string_view> kinds;
        for (auto k : all_reserved_identity_kinds)
            kinds.push_back(to_string(k));
        r.reject_unknown_fields(reserved, kinds);
        std::map<std::uint32_t, std::string> numbers;
        for (const auto& [name, value] : reserved.entries()) {
            const auto kind = parse_reserved_identity_kind(name);
            if (!kind)
                continue;
            const auto number = r.read_integer(value, 1, max_identity);
            if (!number)
                continue;
            const auto n = static_cast<std::uint32_t>(*number);
            if (n >= identity.first_allocated)
                r.report(
                    value,
                    fmt::format("{} is not below firstAllocated ({}), where pods' identities start",
                                n, identity.first_allocated));
            else if (const auto [it, fresh] = numbers.emplace(n, name); !fresh)
                r.report(value, fmt::format("{} is also the number of {}", n, it->second));
            else
                identity.reserved.push_back({*kind, n});
        }
        for (auto required : {ReservedIdentityKind::host, ReservedIdentityKind::world})
            if (!reserved.child(to_string(required)).present())
                r.report(reserved,
                         fmt::format("{} is required: the data path marks traffic with it",
                                     to_string(required)));
    } else if (reserved.present()) {
        identity.reserved.clear();
    } else {
        for (const auto& d : identity.reserved)
            if (d.number >= identity.first_allocated) {
                r.report(
                    field.child("firstAllocated"),
                    fmt::format("{} leaves no room for the default reserved identity {} ({}); list "
                                "spec.identity.reserved",
                                identity.first_allocated, to_string(d.kind), d.number));
                break;
            }
    }
    return identity;
}

} // namespace kpr::schema::detail
