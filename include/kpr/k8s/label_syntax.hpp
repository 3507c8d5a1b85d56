// The syntax of Kubernetes label keys and values (apimachinery's
// IsQualifiedName and IsValidLabelValue): what a selector may name. Each
// check returns the API server's reason, or nullopt when the text is valid.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace kpr::k8s {

namespace detail {

inline bool is_alphanumeric(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters: a label
// value and the name part of a key.
inline std::optional<std::string> label_name_problem(std::string_view text) {
    if (text.size() > 63)
        return "must be no more than 63 characters";
    if (!is_alphanumeric(text.front()) || !is_alphanumeric(text.back()))
        return "must begin and end with an alphanumeric character";
    for (char c : text)
        if (!is_alphanumeric(c) && c != '-' && c != '_' && c != '.')
            return "must consist of alphanumeric characters, '-', '_' or '.'";
    return std::nullopt;
}

// A lowercase RFC 1123 subdomain: the optional prefix of a key.
inline std::optional<std::string> dns_subdomain_problem(std::string_view text) {
    if (text.empty())
        return "prefix must not be empty";
    if (text.size() > 253)
        return "prefix must be no more than 253 characters";
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t dot = text.find('.', start);
        const std::string_view part = text.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        const auto lower_alnum = [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        };
        if (part.empty() || !lower_alnum(part.front()) || !lower_alnum(part.back()))
            return "prefix must be a lowercase DNS subdomain (parts begin and end with a-z or 0-9)";
        for (char c : part)
            if (!lower_alnum(c) && c != '-')
                return "prefix must be a lowercase DNS subdomain (a-z, 0-9, '-' and '.')";
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return std::nullopt;
}

} // namespace detail

// A label key: an optional DNS-subdomain prefix and '/', then a name.
inline std::optional<std::string> label_key_problem(std::string_view key) {
    if (key.empty())
        return "must not be empty";
    std::string_view name = key;
    if (const std::size_t slash = key.find('/'); slash != std::string_view::npos) {
        if (auto problem = detail::dns_subdomain_problem(key.substr(0, slash)))
            return problem;
        name = key.substr(slash + 1);
        if (name.empty())
            return "name part must not be empty";
    }
    if (auto problem = detail::label_name_problem(name))
        return fmt::format("name part {}", *problem);
    return std::nullopt;
}

// A label value: empty, or a name as above.
inline std::optional<std::string> label_value_problem(std::string_view value) {
    if (value.empty())
        return std::nullopt;
    return detail::label_name_problem(value);
}

} // namespace kpr::k8s
