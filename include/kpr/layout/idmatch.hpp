// The identity-match map (hash): per label identity, which of the baseline
// policy's distinct label matches (schema/baseline_policy.hpp,
// baseline_label_matches) it satisfies, one bit each in the generator's
// order. The unrolled baseline rules test these bits for the local and the
// peer identity instead of knowing identity numbers, which only the agent
// learns at run time. An identity that satisfies none has no entry.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct IdmatchKey {
    static constexpr std::string_view c_name = "kpr_idmatch_key";
    std::uint32_t identity;

    auto operator<=>(const IdmatchKey&) const = default;
};

inline constexpr std::size_t idmatch_words = 8;
// The most distinct label matches a schema's baseline rules may use: the
// bits of one value. kpr-gen refuses a schema with more.
inline constexpr std::size_t max_baseline_label_matches = idmatch_words * 64;

struct IdmatchValue {
    static constexpr std::string_view c_name = "kpr_idmatch_value";
    std::array<std::uint64_t, idmatch_words> bits; // bit i of word i / 64: label match i

    auto operator<=>(const IdmatchValue&) const = default;

    void set(std::size_t match) { bits[match / 64] |= std::uint64_t{1} << (match % 64); }
    bool test(std::size_t match) const { return (bits[match / 64] >> (match % 64)) & 1; }
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::IdmatchKey, identity);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::IdmatchValue, bits);

static_assert((kpr::layout::check_key_layout<kpr::layout::IdmatchKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::IdmatchValue>(), true));
