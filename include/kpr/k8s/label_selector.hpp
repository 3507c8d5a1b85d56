// Kubernetes label selectors (metav1.LabelSelector) and what they match,
// exactly as the API defines it: every matchLabels pair and every
// matchExpressions requirement must hold; an empty selector matches every
// object. A selector that is absent where one is optional (a NetworkPolicy
// peer's podSelector, say) is std::nullopt at the use site, and means what
// that field's documentation says — see matches_optional().
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kpr::k8s {

using Labels = std::map<std::string, std::string>;

enum class SelectorOperator { In, NotIn, Exists, DoesNotExist };

inline std::optional<SelectorOperator> parse_selector_operator(std::string_view s) {
    if (s == "In")
        return SelectorOperator::In;
    if (s == "NotIn")
        return SelectorOperator::NotIn;
    if (s == "Exists")
        return SelectorOperator::Exists;
    if (s == "DoesNotExist")
        return SelectorOperator::DoesNotExist;
    return std::nullopt;
}

struct SelectorRequirement {
    std::string key;
    SelectorOperator op = SelectorOperator::Exists;
    std::set<std::string> values; // non-empty for In and NotIn, empty otherwise

    bool operator==(const SelectorRequirement&) const = default;

    bool matches(const Labels& labels) const {
        const auto it = labels.find(key);
        const bool present = it != labels.end();
        switch (op) {
        case SelectorOperator::In:
            return present && values.contains(it->second);
        case SelectorOperator::NotIn:
            return !present || !values.contains(it->second);
        case SelectorOperator::Exists:
            return present;
        case SelectorOperator::DoesNotExist:
            return !present;
        }
        return false;
    }
};

struct LabelSelector {
    Labels match_labels;
    std::vector<SelectorRequirement> match_expressions;

    bool operator==(const LabelSelector&) const = default;

    bool empty() const { return match_labels.empty() && match_expressions.empty(); }

    bool matches(const Labels& labels) const {
        for (const auto& [key, value] : match_labels) {
            const auto it = labels.find(key);
            if (it == labels.end() || it->second != value)
                return false;
        }
        for (const SelectorRequirement& requirement : match_expressions)
            if (!requirement.matches(labels))
                return false;
        return true;
    }

    // Every key the selector looks at.
    std::set<std::string> keys() const {
        std::set<std::string> out;
        for (const auto& [key, value] : match_labels)
            out.insert(key);
        for (const SelectorRequirement& requirement : match_expressions)
            out.insert(requirement.key);
        return out;
    }
};

// An absent selector (a null pointer in the API) selects nothing, an
// empty one everything: metav1.LabelSelectorAsSelector's reading.
inline bool matches_optional(const std::optional<LabelSelector>& selector, const Labels& labels) {
    return selector && selector->matches(labels);
}

} // namespace kpr::k8s
