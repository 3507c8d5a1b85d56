// Reading helpers every part of the cluster schema shares: one-of choices
// and sets of them, DNS labels, CIDRs (label syntax is k8s/label_syntax.hpp).
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

#include "kpr/k8s/label_syntax.hpp"
#include "kpr/net/address.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/schema/baseline_policy.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::schema::detail {

inline bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 1123 label: what Kubernetes accepts as a name in many places.
inline bool is_dns_label(std::string_view s) {
    if (s.empty() || s.size() > 63 || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back()))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
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

// "10.0.0.0/8" or "fd00::/64", with every host bit zero, so one block
// has one spelling (net::Prefix alone would clear them silently).
inline std::optional<net::Prefix> read_cidr(yaml::FieldReader& r, const yaml::YamlField& field) {
    const auto text = r.read_string(field);
    if (!text)
        return std::nullopt;
    const auto prefix = net::Prefix::parse(*text);
    if (!prefix) {
        r.report(field,
                 fmt::format("{:?} is not a CIDR (an address, '/', and a prefix length of at "
                             "most 32 for IPv4 or 128 for IPv6)",
                             *text));
        return std::nullopt;
    }
    if (prefix->address() != net::Address::parse(text->substr(0, text->find('/')))) {
        r.report(field,
                 fmt::format("{:?} has host bits set (the block is {})", *text, prefix->str()));
        return std::nullopt;
    }
    return prefix;
}

} // namespace kpr::schema::detail
