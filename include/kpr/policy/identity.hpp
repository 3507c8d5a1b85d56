// Security identities: the number a packet's peer is known by when policy
// is decided. A pod's identity stands for its identity-relevant labels —
// its own labels, its namespace's labels and its namespace's name — so every
// pod with the same such labels shares one identity, and a policy selector
// is decided once per identity rather than once per pod. Reserved identities
// stand for what has no labels (this node, other nodes, the outside world);
// CIDR identities for the address blocks policies name.
//
// IdentityConfig is the input that decides which label keys count and which
// numbers are used; its defaults are what the cluster schema's identity
// section falls back to.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/label_selector.hpp"
#include "kpr/schema/identity_schema.hpp"

namespace kpr::policy {

// 0 is never an identity: in a policy entry it means "any peer".
using Identity = std::uint32_t;
inline constexpr Identity any_identity = 0;

// The defaults are the cluster schema's (schema/identity_schema.hpp), which
// follow Cilium's numbering.
struct ReservedIdentities {
    Identity host = 1;        // the node this datapath runs on (and its host-network pods)
    Identity world = 2;       // an address no pod, node or policy block holds
    Identity unmanaged = 3;   // a pod the label range had no number left for
    Identity remote_node = 6; // any other node's addresses

    bool operator==(const ReservedIdentities&) const = default;
};

inline std::vector<std::string> label_key_texts(const std::vector<schema::LabelKeyPattern>& in) {
    std::vector<std::string> out;
    for (const auto& pattern : in)
        out.push_back(pattern.text);
    return out;
}

// An inclusive range of numbers an allocator hands out.
struct IdentityRange {
    Identity first;
    Identity last;

    std::uint64_t size() const { return std::uint64_t{last} - first + 1; }
    bool contains(Identity id) const { return id >= first && id <= last; }
    bool operator==(const IdentityRange&) const = default;
};

struct IdentityConfig {
    // Label keys that count towards identity, of the pod and of its
    // namespace: an exact key, or a prefix ending in '*' ("*" alone: every
    // key), as the schema's pod_label_keys and namespace_label_keys ...
    std::vector<std::string> pod_label_keys{"*"};
    std::vector<std::string> namespace_label_keys{"*"};
    // ... unless excluded here (same forms, both kinds). The defaults, the
    // schema's, drop labels that controllers make unique per pod or per
    // rollout, which would give every pod an identity of its own and no
    // selector uses.
    std::vector<std::string> excluded_label_keys =
        label_key_texts(schema::default_excluded_label_keys());
    ReservedIdentities reserved;
    // Within the schema's 24-bit identity space, above its reserved
    // numbers (first_allocated 256), half each: hashing then collides
    // rarely (see docs/policy.md), and collisions are settled alike everywhere.
    IdentityRange label_range{0x000100, 0x7fffff};
    IdentityRange cidr_range{0x800000, 0xffffff};

    bool operator==(const IdentityConfig&) const = default;

    // Whether a pod label key, or a namespace label key, counts towards identity.
    bool pod_label_relevant(std::string_view key) const {
        return matches(pod_label_keys, key) && !matches(excluded_label_keys, key);
    }
    bool namespace_label_relevant(std::string_view key) const {
        return matches(namespace_label_keys, key) && !matches(excluded_label_keys, key);
    }

    k8s::Labels relevant_pod_labels(const k8s::Labels& labels) const {
        return filter(labels, &IdentityConfig::pod_label_relevant);
    }
    k8s::Labels relevant_namespace_labels(const k8s::Labels& labels) const {
        return filter(labels, &IdentityConfig::namespace_label_relevant);
    }

  private:
    static bool matches(const std::vector<std::string>& patterns, std::string_view key) {
        for (const std::string& pattern : patterns)
            if (schema::label_key_pattern_matches(pattern, key))
                return true;
        return false;
    }

    k8s::Labels filter(const k8s::Labels& labels,
                       bool (IdentityConfig::*relevant)(std::string_view) const) const {
        k8s::Labels out;
        for (const auto& [key, value] : labels)
            if ((this->*relevant)(key))
                out.emplace(key, value);
        return out;
    }
};

// What is wrong with a configuration, one message each; empty when it is
// usable: ranges non-empty and apart from each other, reserved numbers
// distinct, non-zero and outside both ranges.
inline std::vector<std::string> identity_config_problems(const IdentityConfig& config) {
    std::vector<std::string> out;
    const std::pair<std::string_view, IdentityRange> ranges[] = {{"label", config.label_range},
                                                                 {"CIDR", config.cidr_range}};
    for (const auto& [name, range] : ranges)
        if (range.first == any_identity || range.first > range.last)
            out.push_back(fmt::format("the {} identity range {}-{} is empty or starts at 0", name,
                                      range.first, range.last));
    if (config.label_range.first <= config.cidr_range.last &&
        config.cidr_range.first <= config.label_range.last)
        out.push_back("the label and CIDR identity ranges overlap");
    const ReservedIdentities& r = config.reserved;
    const std::pair<std::string_view, Identity> reserved[] = {{"host", r.host},
                                                              {"world", r.world},
                                                              {"unmanaged", r.unmanaged},
                                                              {"remote-node", r.remote_node}};
    for (std::size_t i = 0; i < std::size(reserved); ++i) {
        const auto& [name, id] = reserved[i];
        if (id == any_identity)
            out.push_back(fmt::format("reserved identity {} is 0, which means any peer", name));
        for (const auto& [range_name, range] : ranges)
            if (range.contains(id))
                out.push_back(fmt::format("reserved identity {} ({}) is inside the {} range", name,
                                          id, range_name));
        for (std::size_t j = 0; j < i; ++j)
            if (reserved[j].second == id)
                out.push_back(fmt::format("reserved identities {} and {} are both {}",
                                          reserved[j].first, name, id));
    }
    return out;
}

// The labels an identity stands for: those a NetworkPolicy peer selector
// can be decided on.
struct IdentityLabels {
    std::string namespace_name;
    k8s::Labels pod_labels;       // identity-relevant ones only
    k8s::Labels namespace_labels; // identity-relevant ones only

    auto operator<=>(const IdentityLabels&) const = default;

    // The labels as one sorted list of "source:key=value" texts, sources
    // reserving their own prefixes: "k8s:" for the pod's labels,
    // "k8s-namespace:" for its namespace's, "kpr:namespace" for the
    // namespace's name. Each entry is written with its length first, so
    // no choice of keys and values makes two label sets read the same.
    std::string canonical_text() const {
        std::vector<std::string> entries;
        entries.push_back(fmt::format("kpr:namespace={}", namespace_name));
        for (const auto& [key, value] : pod_labels)
            entries.push_back(fmt::format("k8s:{}={}", key, value));
        for (const auto& [key, value] : namespace_labels)
            entries.push_back(fmt::format("k8s-namespace:{}={}", key, value));
        std::sort(entries.begin(), entries.end());
        std::string out;
        for (const std::string& entry : entries)
            out += fmt::format("{}:{};", entry.size(), entry);
        return out;
    }
};

} // namespace kpr::policy
