// The node's Service ports, for the bind4/6 hooks (kpr_nodeport, a hash):
// port and protocol -> how many Service ports use it. A local bind() to
// such a port, on any address, is refused with EADDRINUSE.
#pragma once

#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct NodePortKey {
    static constexpr std::string_view c_name = "kpr_nodeport_key";
    be16 port;
    std::uint8_t proto; // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP
    std::uint8_t pad0;

    auto operator<=>(const NodePortKey&) const = default;
};

struct NodePortValue {
    static constexpr std::string_view c_name = "kpr_nodeport_value";
    std::uint32_t services; // Service ports using it, at least 1

    auto operator<=>(const NodePortValue&) const = default;
};

// Every port number can be a NodePort of each protocol at most once.
inline constexpr std::uint32_t node_port_entries = 65536;

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::NodePortKey, port, proto, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::NodePortValue, services);

static_assert((kpr::layout::check_key_layout<kpr::layout::NodePortKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::NodePortValue>(), true));
