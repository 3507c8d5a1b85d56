// The ipcache maps (LPM tries, one per family): address block -> the
// identities policy decides on. The key is the kernel's LPM trie key (a
// prefix length in host order, then the address in network order); the
// value carries the holder's identity and the CIDR identity of the most
// specific policy block holding the address (kpr/policy/policy_state.hpp).
// Not in maps.hpp's all_maps yet: the TC datapath that reads them is not
// generated yet.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct IpcacheKey4 {
    static constexpr std::string_view c_name = "kpr_ipcache4_key";
    std::uint32_t prefix_len; // bits of address that count, 0-32
    be32 address;

    auto operator<=>(const IpcacheKey4&) const = default;
};

struct IpcacheKey6 {
    static constexpr std::string_view c_name = "kpr_ipcache6_key";
    std::uint32_t prefix_len; // 0-128
    std::array<be32, 4> address;

    auto operator<=>(const IpcacheKey6&) const = default;
};

struct IpcacheValue {
    static constexpr std::string_view c_name = "kpr_ipcache_value";
    std::uint32_t identity;
    std::uint32_t cidr_identity;

    auto operator<=>(const IpcacheValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::IpcacheKey4, prefix_len, address);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::IpcacheKey6, prefix_len, address);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::IpcacheValue, identity, cidr_identity);

static_assert((kpr::layout::check_key_layout<kpr::layout::IpcacheKey4>(), true));
static_assert((kpr::layout::check_key_layout<kpr::layout::IpcacheKey6>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::IpcacheValue>(), true));
