// Decoding a metav1.LabelSelector, validated as the API server's
// ValidateLabelSelector does: keys are qualified names, values valid label
// values, operators one of In, NotIn, Exists, DoesNotExist, In/NotIn with at
// least one value and Exists/DoesNotExist with none.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "kpr/k8s/label_selector.hpp"
#include "kpr/k8s/label_syntax.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::k8s {

namespace detail {

inline void check_label_key(yaml::FieldReader& reader, const yaml::YamlField& field,
                            const std::string& key) {
    if (auto problem = label_key_problem(key))
        reader.report(field, fmt::format("{:?} is not a valid label key: {}", key, *problem));
}

inline void check_label_value(yaml::FieldReader& reader, const yaml::YamlField& field,
                              const std::string& value) {
    if (auto problem = label_value_problem(value))
        reader.report(field, fmt::format("{:?} is not a valid label value: {}", value, *problem));
}

inline std::optional<SelectorRequirement>
decode_selector_requirement(yaml::FieldReader& reader, const yaml::YamlField& field) {
    SelectorRequirement requirement;
    const yaml::YamlField key = field.child("key");
    if (reader.require(key))
        if (auto text = reader.read_string(key)) {
            check_label_key(reader, key, *text);
            requirement.key = *text;
        }
    const yaml::YamlField op = field.child("operator");
    std::optional<SelectorOperator> parsed;
    if (reader.require(op))
        if (auto text = reader.read_string(op)) {
            parsed = parse_selector_operator(*text);
            if (!parsed)
                reader.report(op, fmt::format("{:?} is not a valid selector operator (expected In, "
                                              "NotIn, Exists or DoesNotExist)",
                                              *text));
        }
    const yaml::YamlField values = field.child("values");
    for (const yaml::YamlField& item : reader.read_list(values))
        if (auto text = reader.read_string(item)) {
            check_label_value(reader, item, *text);
            requirement.values.insert(*text);
        }
    if (!parsed)
        return std::nullopt;
    requirement.op = *parsed;
    const bool wants_values = *parsed == SelectorOperator::In || *parsed == SelectorOperator::NotIn;
    if (wants_values && requirement.values.empty())
        reader.report(values,
                      fmt::format("must be specified when operator is {}", op.node().Scalar()));
    if (!wants_values && !requirement.values.empty())
        reader.report(values,
                      fmt::format("may not be specified when operator is {}", op.node().Scalar()));
    return requirement;
}

} // namespace detail

// The selector in field; nullopt when the field is absent or null (which
// the caller gives its meaning) or not a map (reported).
inline std::optional<LabelSelector> decode_label_selector(yaml::FieldReader& reader,
                                                          const yaml::YamlField& field) {
    if (!reader.expect_map(field))
        return std::nullopt;
    LabelSelector selector;
    const yaml::YamlField labels = field.child("matchLabels");
    if (reader.expect_map(labels))
        for (const auto& [key, value] : labels.entries()) {
            detail::check_label_key(reader, value, key);
            const std::string text = reader.read_string(value).value_or("");
            detail::check_label_value(reader, value, text);
            selector.match_labels.emplace(key, text);
        }
    for (const yaml::YamlField& item : reader.read_list(field.child("matchExpressions")))
        if (reader.require_map(item))
            if (auto requirement = detail::decode_selector_requirement(reader, item))
                selector.match_expressions.push_back(std::move(*requirement));
    return selector;
}

} // namespace kpr::k8s
