// The datapath's policy decision, written over the compiler's desired state:
// the specification the TC programs implement, step for step, and what the
// tests check the compiler against. It counts its lookups to show the
// bound (docs/policy.md, "Deciding a packet"):
//
//   1. endpoint entry of the local pod              1 hash lookup
//      (direction not enforced: allow)
//   2. ipcache longest-prefix match of the peer     1 LPM lookup
//   3. for each peer identity in {identity, cidr identity, any}:
//        the any-protocol key                       1 hash lookup
//        for TCP/UDP/SCTP, for each port prefix
//        length the endpoint uses in this direction 1 hash lookup each (at most 17)
//
// so at most 2 + 3 * 18 = 56 lookups whatever the number of policies, and
// 2 + 3 * 2 = 8 when rules name single ports only. The first allow ends
// the search. A pod's traffic to itself is allowed before any of this.
#pragma once

#include <cstdint>

#include "kpr/k8s/protocol.hpp"
#include "kpr/net/address.hpp"
#include "kpr/policy/policy_state.hpp"

namespace kpr::policy {

inline constexpr int max_policy_lookups = 2 + 3 * (1 + port_bits + 1);

struct PolicyDecision {
    bool allowed;
    int lookups;
};

// Whether the local endpoint may exchange this packet with peer: in
// direction ingress peer is the source, in egress the destination; port
// is the destination port (the peer's for egress, the endpoint's for
// ingress).
inline PolicyDecision decide_packet(const PolicyState& state, const EndpointPolicy& endpoint,
                                    Direction direction, const net::Address& peer,
                                    std::uint8_t protocol, std::uint16_t port) {
    int lookups = 1; // the endpoint entry the caller found
    for (const net::Address& own : endpoint.addresses)
        if (own == peer)
            return {true, lookups};
    if (!endpoint.enforced(direction))
        return {true, lookups};
    ++lookups;
    const IpcacheEntry* entry = lookup_ipcache(state.ipcache, peer);
    const IpcacheEntry unknown{any_identity, any_identity};
    const IpcacheEntry& peer_entry = entry ? *entry : unknown;
    const bool has_ports = protocol == k8s::ip_protocol_number(k8s::Protocol::TCP) ||
                           protocol == k8s::ip_protocol_number(k8s::Protocol::UDP) ||
                           protocol == k8s::ip_protocol_number(k8s::Protocol::SCTP);
    const std::uint32_t lengths = endpoint.port_prefix_lengths(direction);
    const Identity peers[] = {peer_entry.identity, peer_entry.cidr_identity, any_identity};
    for (int i = 0; i < 3; ++i) {
        const Identity identity = peers[i];
        if ((i == 1 && identity == peers[0]) || (i < 2 && identity == any_identity))
            continue;
        ++lookups;
        if (endpoint.allowed.contains({identity, direction, any_protocol, {0, 0}}))
            return {true, lookups};
        if (!has_ports)
            continue;
        for (int length = port_bits; length >= 0; --length) {
            if (!(lengths & (1u << length)))
                continue;
            ++lookups;
            const auto len = static_cast<std::uint8_t>(length);
            const PortBlock block{static_cast<std::uint16_t>(port & port_mask(len)), len};
            if (endpoint.allowed.contains({identity, direction, protocol, block}))
                return {true, lookups};
        }
    }
    return {false, lookups};
}

} // namespace kpr::policy
