// The policy map (hash): one entry per allowed (endpoint, direction, peer
// identity, protocol, destination port block). Only allows are stored: an
// endpoint isolated for a direction (endpoint_policy.hpp) drops what no
// entry allows. Peer identity 0 is the wildcard peer; protocol 0 the
// wildcard protocol (port block 0/0); a port range is stored as aligned
// blocks, port masked to its top port_prefix_len bits. The lookup sequence
// and its bound are in kpr/policy/policy_lookup.hpp.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct PolicyKey {
    static constexpr std::string_view c_name = "kpr_policy_key";
    std::uint32_t endpoint_id;
    std::uint32_t peer_identity;  // 0: any peer
    std::uint8_t direction;       // 0: ingress, 1: egress
    std::uint8_t proto;           // IPPROTO_*; 0: any protocol
    be16 port;                    // destination port, masked to port_prefix_len bits
    std::uint8_t port_prefix_len; // 0-16
    std::array<std::uint8_t, 3> pad0;

    auto operator<=>(const PolicyKey&) const = default;
};

enum class PolicyVerdict : std::uint8_t { allow = 1 };

struct PolicyValue {
    static constexpr std::string_view c_name = "kpr_policy_value";
    std::uint8_t verdict; // PolicyVerdict
    std::array<std::uint8_t, 3> pad0;

    auto operator<=>(const PolicyValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::PolicyKey, endpoint_id, peer_identity, direction, proto, port,
                        port_prefix_len, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::PolicyValue, verdict, pad0);

static_assert((kpr::layout::check_key_layout<kpr::layout::PolicyKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::PolicyValue>(), true));
