// The ipcache maps (LPM tries, one per family): address block -> the
// identities policy decides on. The key is the kernel's LPM trie key (a
// prefix length in host order, then the address in network order); the
// value carries the holder's identity, the CIDR identity of the most
// specific policy block holding the address (kpr/policy/policy_state.hpp),
// and, for a pod on this node, its endpoint id (the ifindex of its
// host-side veth) so the TC programs can deliver to it directly.
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
    std::uint32_t endpoint_id; // 0: not a pod on this node

    auto operator<=>(const IpcacheValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::IpcacheKey4, prefix_len, address);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::IpcacheKey6, prefix_len, address);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::IpcacheValue, identity, cidr_identity, endpoint_id);

static_assert((kpr::layout::check_key_layout<kpr::layout::IpcacheKey4>(), true));
static_assert((kpr::layout::check_key_layout<kpr::layout::IpcacheKey6>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::IpcacheValue>(), true));
