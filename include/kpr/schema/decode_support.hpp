// Reading helpers every part of the cluster schema shares: one-of choices
// and sets of them, DNS labels, Kubernetes label keys and values, CIDRs.
// Each reports through the FieldReader, so a bad value is one Diagnostic
// at its own place, and decoding goes on to find the next.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kpr/net/address.hpp"
#include "kpr/schema/baseline_policy.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::schema::detail {

inline bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
inline bool is_alnum(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

// RFC 1123 label: what Kubernetes accepts as a name in many places.
inline bool is_dns_label(std::string_view s) {
    if (s.empty() || s.size() > 63 || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back()))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

inline bool is_dns_subdomain(std::string_view s) {
    if (s.empty() || s.size() > 253)
        return false;
    for (std::size_t start = 0;;) {
        const auto dot = s.find('.', start);
        if (!is_dns_label(s.substr(start, dot - start)))
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

// A label value, or the name part of a label key: at most 63 of
// [A-Za-z0-9_.-], starting and ending alphanumeric (a value may be empty).
inline bool is_label_value(std::string_view s) {
    if (s.empty())
        return true;
    if (s.size() > 63 || !is_alnum(s.front()) || !is_alnum(s.back()))
        return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A label key: an optional DNS subdomain prefix and '/', then a name.
inline bool is_label_key(std::string_view s) {
    const auto slash = s.find('/');
    if (slash == std::string_view::npos)
        return !s.empty() && is_label_value(s);
    const auto name = s.substr(slash + 1);
    return is_dns_subdomain(s.substr(0, slash)) && !name.empty() && is_label_value(name);
}

// One of `all`, by its to_string spelling.
template <class E, class Range>
std::optional<E> read_choice(yaml::FieldReader& r, const yaml::YamlField& field, const Range& all) {
    const auto text = r.read_string(field);
    if (!text)
        return std::nullopt;
    std::vector<std::string_view> names;
    for (E e : all) {
        if (to_string(e) == *text)
            return e;
        names.push_back(to_string(e));
    }
    r.report(field, fmt::format("{:?} is not one of {}{}", *text, fmt::join(names, ", "),
                                yaml::did_you_mean(*text, names)));
    return std::nullopt;
}

// A list of distinct choices.
template <class E, class Range>
std::set<E> read_choice_set(yaml::FieldReader& r, const yaml::YamlField& field, const Range& all) {
    std::set<E> out;
    for (const auto& item : r.read_list(field)) {
        const auto value = read_choice<E>(r, item, all);
        if (value && !out.insert(*value).second)
            r.report(item, fmt::format("{:?} is listed twice", to_string(*value)));
    }
    return out;
}

// "10.0.0.0/8" or "fd00::/64", with every host bit zero (as Kubernetes
// requires of an ipBlock.cidr), so one CIDR has one spelling.
inline std::optional<Cidr> read_cidr(yaml::FieldReader& r, const yaml::YamlField& field) {
    const auto text = r.read_string(field);
    if (!text)
        return std::nullopt;
    const auto slash = text->find('/');
    const auto address = net::Address::parse(std::string_view(*text).substr(0, slash));
    const std::string_view length_text =
        slash == std::string::npos ? std::string_view() : std::string_view(*text).substr(slash + 1);
    const bool digits = !length_text.empty() && length_text.size() <= 3 &&
                        length_text.find_first_not_of("0123456789") == std::string_view::npos;
    if (!address || !digits) {
        r.report(field, fmt::format("{:?} is not a CIDR (address/prefix-length)", *text));
        return std::nullopt;
    }
    const int length = std::stoi(std::string(length_text));
    const int bits = address->is_v4() ? 32 : 128;
    if (length > bits) {
        r.report(field, fmt::format("{:?}: the prefix length {} is longer than an {} address",
                                    *text, length, net::to_string(address->family())));
        return std::nullopt;
    }
    const auto& bytes = address->v6_bytes();
    for (int bit = length; bit < bits; ++bit)
        if (bytes[static_cast<std::size_t>(bit / 8)] & (0x80 >> (bit % 8))) {
            r.report(field, fmt::format("{:?} has host bits set", *text));
            return std::nullopt;
        }
    return Cidr{*address, static_cast<std::uint8_t>(length)};
}

} // namespace kpr::schema::detail
