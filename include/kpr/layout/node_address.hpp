// The node's own addresses the external path SNATs to under
// externalTrafficPolicy Cluster (kpr_nodeaddr, an array of two: index 0
// IPv4, 1 IPv6). All zero: none, and a flow needing SNAT is a counted drop.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

inline constexpr std::uint32_t node_address_ipv4 = 0;
inline constexpr std::uint32_t node_address_ipv6 = 1;
inline constexpr std::uint32_t node_address_entries = 2;

struct NodeAddressKey {
    static constexpr std::string_view c_name = "kpr_nodeaddr_key";
    std::uint32_t index; // node_address_ipv4 or node_address_ipv6

    auto operator<=>(const NodeAddressKey&) const = default;
};

struct NodeAddress {
    static constexpr std::string_view c_name = "kpr_nodeaddr_value";
    std::array<be32, 4> address; // IPv4 in [0]

    auto operator<=>(const NodeAddress&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::NodeAddressKey, index);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::NodeAddress, address);

static_assert((kpr::layout::check_key_layout<kpr::layout::NodeAddressKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::NodeAddress>(), true));
