// The identity-match map's desired contents (layout/idmatch.hpp): for each
// label identity of the compiled state, the baseline label matches its
// labels satisfy, numbered as the build numbered them (the manifest's
// baselineLabelMatches, from schema::baseline_label_matches). The agent
// writes these next to the ipcache; the unrolled baseline rules read them.
#pragma once

#include <map>
#include <vector>

#include "kpr/layout/idmatch.hpp"
#include "kpr/policy/identity.hpp"
#include "kpr/policy/policy_state.hpp"
#include "kpr/schema/baseline_policy.hpp"

namespace kpr::policy {

// Whether an identity's labels satisfy a match: every label it names is
// among the identity's (identity-relevant) pod or namespace labels.
inline bool satisfies(const IdentityLabels& labels, const schema::IdentityLabelMatch& match) {
    const auto contains = [](const k8s::Labels& have,
                             const std::map<std::string, std::string>& wanted) {
        for (const auto& [key, value] : wanted)
            if (auto it = have.find(key); it == have.end() || it->second != value)
                return false;
        return true;
    };
    return contains(labels.pod_labels, match.pod_labels) &&
           contains(labels.namespace_labels, match.namespace_labels);
}

// Identities that satisfy no match get no entry. Throws std::invalid_argument
// when there are more matches than a value has bits (a schema kpr-gen refuses).
inline std::map<layout::IdmatchKey, layout::IdmatchValue>
identity_match_entries(const PolicyState& state,
                       const std::vector<schema::IdentityLabelMatch>& matches) {
    if (matches.size() > layout::max_baseline_label_matches)
        throw std::invalid_argument(
            fmt::format("{} baseline label matches; the identity-match map holds at most {}",
                        matches.size(), layout::max_baseline_label_matches));
    std::map<layout::IdmatchKey, layout::IdmatchValue> out;
    for (const auto& [labels, identity] : state.label_identities) {
        layout::IdmatchValue value{};
        bool any = false;
        for (std::size_t i = 0; i < matches.size(); ++i)
            if (satisfies(labels, matches[i])) {
                value.set(i);
                any = true;
            }
        if (any)
            out.emplace(layout::IdmatchKey{identity}, value);
    }
    return out;
}

} // namespace kpr::policy
