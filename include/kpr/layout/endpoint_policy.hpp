// The endpoint map (hash): per local pod, its identity, which directions
// are enforced (selected by some NetworkPolicy of that type) and which port
// prefix lengths its policy entries use per direction, so the datapath
// tries only those (kpr/policy/policy_lookup.hpp), and the revision of its
// policy, which the agent bumps whenever a decision for it could turn from
// allow to deny, so tracked connections are decided again
// (docs/policy.md, "Established connections").
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct EndpointKey {
    static constexpr std::string_view c_name = "kpr_endpoint_key";
    std::uint32_t endpoint_id;

    auto operator<=>(const EndpointKey&) const = default;
};

inline constexpr std::uint8_t endpoint_ingress_enforced = 1u << 0;
inline constexpr std::uint8_t endpoint_egress_enforced = 1u << 1;

struct EndpointValue {
    static constexpr std::string_view c_name = "kpr_endpoint_value";
    std::uint32_t identity;
    std::uint32_t ingress_port_prefix_lengths; // bit L: some ingress entry has port_prefix_len L
    std::uint32_t egress_port_prefix_lengths;
    std::uint32_t policy_revision;
    std::uint8_t flags; // endpoint_*_enforced
    std::array<std::uint8_t, 3> pad0;

    auto operator<=>(const EndpointValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::EndpointKey, endpoint_id);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::EndpointValue, identity, ingress_port_prefix_lengths,
                        egress_port_prefix_lengths, policy_revision, flags, pad0);

static_assert((kpr::layout::check_key_layout<kpr::layout::EndpointKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::EndpointValue>(), true));
