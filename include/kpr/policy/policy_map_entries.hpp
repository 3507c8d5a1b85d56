// The compiler's desired state as the bytes the maps hold: ipcache,
// endpoint and policy entries in their C layouts (kpr/layout/). The
// endpoint id (the ifindex of a local pod's host-side veth) and the
// endpoint's policy revision are the sync layer's to choose; everything
// else comes from the state.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/endpoint_policy.hpp"
#include "kpr/layout/ipcache.hpp"
#include "kpr/layout/policy.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/policy/policy_state.hpp"

namespace kpr::policy {

inline layout::IpcacheKey4 ipcache_key4(const net::Prefix& prefix) {
    return {prefix.length(), layout::be32::from_network(prefix.address().v4_network_order())};
}

inline layout::IpcacheKey6 ipcache_key6(const net::Prefix& prefix) {
    layout::IpcacheKey6 key{prefix.length(), {}};
    std::memcpy(key.address.data(), prefix.address().v6_bytes().data(), 16);
    return key;
}

// endpoint_id: the local pod's holding the address, 0 for any other address.
inline layout::IpcacheValue ipcache_value(const IpcacheEntry& entry, std::uint32_t endpoint_id) {
    return {entry.identity, entry.cidr_identity, endpoint_id};
}

inline layout::EndpointValue endpoint_value(const EndpointPolicy& endpoint,
                                           std::uint32_t policy_revision) {
    const std::uint8_t flags = (endpoint.ingress_enforced ? layout::endpoint_ingress_enforced : 0) |
                               (endpoint.egress_enforced ? layout::endpoint_egress_enforced : 0);
    return {endpoint.identity,
            endpoint.port_prefix_lengths(Direction::ingress),
            endpoint.port_prefix_lengths(Direction::egress),
            policy_revision,
            flags,
            {}};
}

inline layout::PolicyKey policy_map_key(std::uint32_t endpoint_id, const PolicyKey& key) {
    return {endpoint_id,
            key.peer,
            static_cast<std::uint8_t>(key.direction),
            key.protocol,
            layout::be16::from_host(key.port.first),
            key.port.length,
            {}};
}

inline layout::PolicyValue policy_map_value() {
    return {static_cast<std::uint8_t>(layout::PolicyVerdict::allow), {}};
}

} // namespace kpr::policy
