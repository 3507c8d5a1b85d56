// The identity schema: which labels make a pod's security identity and
// which identities are reserved, with their numbers. Every agent derives a
// pod's numeric identity from the identity-relevant labels of the pod and
// its namespace, so all nodes agree without a kpr control plane; reserved
// identities name traffic that has no pod behind it (the node itself, the
// world outside the cluster). The policy compiler consumes this model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kpr::schema {

// What a reserved identity stands for. The data path gives each its meaning;
// the schema only chooses the numbers (and may leave the optional ones out).
enum class ReservedIdentityKind { host, world, remoteNode, kubeApiserver, unmanaged, health };

inline constexpr ReservedIdentityKind all_reserved_identity_kinds[] = {
    ReservedIdentityKind::host,       ReservedIdentityKind::world,
    ReservedIdentityKind::remoteNode, ReservedIdentityKind::kubeApiserver,
    ReservedIdentityKind::unmanaged,  ReservedIdentityKind::health};

inline std::string_view to_string(ReservedIdentityKind k) {
    switch (k) {
    case ReservedIdentityKind::host:
        return "host";
    case ReservedIdentityKind::world:
        return "world";
    case ReservedIdentityKind::remoteNode:
        return "remoteNode";
    case ReservedIdentityKind::kubeApiserver:
        return "kubeApiserver";
    case ReservedIdentityKind::unmanaged:
        return "unmanaged";
    case ReservedIdentityKind::health:
        return "health";
    }
    return "?";
}

inline std::optional<ReservedIdentityKind> parse_reserved_identity_kind(std::string_view s) {
    for (auto k : all_reserved_identity_kinds)
        if (to_string(k) == s)
            return k;
    return std::nullopt;
}

struct ReservedIdentity {
    ReservedIdentityKind kind;
    std::uint32_t number;
    bool operator==(const ReservedIdentity&) const = default;
};

// A label key pattern: an exact Kubernetes label key ("app",
// "app.kubernetes.io/name"), or a prefix ending in '*' ("app.kubernetes.io/*",
// or "*" for every key).
inline bool label_key_pattern_matches(std::string_view pattern, std::string_view key) {
    if (!pattern.empty() && pattern.back() == '*')
        return key.starts_with(pattern.substr(0, pattern.size() - 1));
    return key == pattern;
}

struct LabelKeyPattern {
    std::string text;

    bool matches(std::string_view key) const { return label_key_pattern_matches(text, key); }
    bool operator==(const LabelKeyPattern&) const = default;
};

// Identity 0 means "no identity known"; numbers 1..first_allocated-1 are
// reserved; pods' identities are allocated from first_allocated up.
inline constexpr std::uint32_t no_identity = 0;
inline constexpr std::uint32_t max_identity = (1u << 24) - 1;

// Label keys controllers make unique per pod or per rollout: counting them
// would give every pod an identity of its own that no selector uses.
inline const std::vector<LabelKeyPattern>& default_excluded_label_keys() {
    static const std::vector<LabelKeyPattern> keys{
        {"pod-template-hash"},
        {"controller-revision-hash"},
        {"pod-template-generation"},
        {"statefulset.kubernetes.io/pod-name"},
        {"apps.kubernetes.io/pod-index"},
        {"batch.kubernetes.io/job-completion-index"},
        {"batch.kubernetes.io/controller-uid"},
        {"controller-uid"},
    };
    return keys;
}

struct IdentitySchema {
    std::vector<LabelKeyPattern> pod_label_keys{{"*"}};
    std::vector<LabelKeyPattern> namespace_label_keys{{"*"}};
    // Keys that never count, of pods or namespaces, whatever the lists above say.
    std::vector<LabelKeyPattern> excluded_label_keys = default_excluded_label_keys();
    std::vector<ReservedIdentity> reserved{{ReservedIdentityKind::host, 1},
                                           {ReservedIdentityKind::world, 2},
                                           {ReservedIdentityKind::remoteNode, 6},
                                           {ReservedIdentityKind::kubeApiserver, 7}};
    std::uint32_t first_allocated = 256;

    static bool any_matches(const std::vector<LabelKeyPattern>& patterns, std::string_view key) {
        for (const auto& p : patterns)
            if (p.matches(key))
                return true;
        return false;
    }
    bool pod_label_counts(std::string_view key) const {
        return any_matches(pod_label_keys, key) && !any_matches(excluded_label_keys, key);
    }
    bool namespace_label_counts(std::string_view key) const {
        return any_matches(namespace_label_keys, key) && !any_matches(excluded_label_keys, key);
    }

    std::optional<std::uint32_t> number_of(ReservedIdentityKind kind) const {
        for (const auto& r : reserved)
            if (r.kind == kind)
                return r.number;
        return std::nullopt;
    }

    bool operator==(const IdentitySchema&) const = default;
};

} // namespace kpr::schema
