// loadBalancerSourceRanges (LPM tries, one per family, kpr_srcrange4/6):
// the client blocks a frontend admits, keyed by the frontend's rev_nat_id
// then the block. The LPM prefix covers rev_nat_id and pad whole, so
// prefixlen is 32 + the CIDR's length.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

// Bits of the key before the address: rev_nat_id and pad, always matched.
inline constexpr std::uint32_t source_range_prefix_bits = 32;

struct SourceRangeKey4 {
    static constexpr std::string_view c_name = "kpr_srcrange4_key";
    std::uint32_t prefixlen; // source_range_prefix_bits + the CIDR's length
    std::uint16_t rev_nat_id;
    std::uint16_t pad0;
    be32 address;

    auto operator<=>(const SourceRangeKey4&) const = default;
};

struct SourceRangeKey6 {
    static constexpr std::string_view c_name = "kpr_srcrange6_key";
    std::uint32_t prefixlen;
    std::uint16_t rev_nat_id;
    std::uint16_t pad0;
    std::array<be32, 4> address;

    auto operator<=>(const SourceRangeKey6&) const = default;
};

struct SourceRangeValue {
    static constexpr std::string_view c_name = "kpr_srcrange_value";
    std::uint32_t present; // 1

    auto operator<=>(const SourceRangeValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::SourceRangeKey4, prefixlen, rev_nat_id, pad0, address);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::SourceRangeKey6, prefixlen, rev_nat_id, pad0, address);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::SourceRangeValue, present);

static_assert((kpr::layout::check_key_layout<kpr::layout::SourceRangeKey4>(), true));
static_assert((kpr::layout::check_key_layout<kpr::layout::SourceRangeKey6>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::SourceRangeValue>(), true));
