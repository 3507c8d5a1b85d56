// What the policy compiler produces for one node: the desired contents of
// the ipcache (address block -> identities) and of each local endpoint's
// policy (enforced directions and the allowed (peer, protocol, port)
// keys), as typed values the sync layer diffs against the maps. The C
// layouts these become are in kpr/layout/ipcache.hpp, policy.hpp and
// endpoint_policy.hpp.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "kpr/diagnostic.hpp"
#include "kpr/k8s/object_meta.hpp"
#include "kpr/net/address.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/policy/identity.hpp"
#include "kpr/policy/port_blocks.hpp"

namespace kpr::policy {

enum class Direction : std::uint8_t { ingress = 0, egress = 1 };

// In a policy key: the rule allows every protocol (and so every port).
inline constexpr std::uint8_t any_protocol = 0;

// What the ipcache says of an address: the identity of whatever holds it
// (a pod's label identity, host, remote-node, or for an address no pod or
// node holds, its CIDR identity), and the CIDR identity of the most
// specific policy block holding it — what ipBlock rules are decided on,
// for pod addresses too (the upstream e2e tests expect ipBlock to match pods).
struct IpcacheEntry {
    Identity identity;
    Identity cidr_identity;

    auto operator<=>(const IpcacheEntry&) const = default;
};

using Ipcache = std::map<net::Prefix, IpcacheEntry>;

// The longest-prefix match, as the datapath's LPM trie answers it; every
// address has one (the /0 entries).
inline const IpcacheEntry* lookup_ipcache(const Ipcache& ipcache, const net::Address& address) {
    for (int length = net::address_bits(address.family()); length >= 0; --length)
        if (auto it = ipcache.find(net::Prefix(address, static_cast<std::uint8_t>(length)));
            it != ipcache.end())
            return &it->second;
    return nullptr;
}

// One allowed (peer, direction, protocol, port block) of an endpoint.
struct PolicyKey {
    Identity peer; // any_identity: every peer
    Direction direction;
    std::uint8_t protocol; // IANA number; any_protocol with port 0/0
    PortBlock port;        // the destination port

    auto operator<=>(const PolicyKey&) const = default;
};

struct EndpointPolicy {
    Identity identity = any_identity;
    std::vector<net::Address> addresses;
    // Selected by some policy of that type: traffic needs an allow entry.
    bool ingress_enforced = false;
    bool egress_enforced = false;
    std::set<PolicyKey> allowed;

    bool operator==(const EndpointPolicy&) const = default;

    bool enforced(Direction d) const {
        return d == Direction::ingress ? ingress_enforced : egress_enforced;
    }

    // Bit L set when some entry of direction d with a protocol has port
    // prefix length L: the lengths the datapath must try.
    std::uint32_t port_prefix_lengths(Direction d) const {
        std::uint32_t mask = 0;
        for (const PolicyKey& key : allowed)
            if (key.direction == d && key.protocol != any_protocol)
                mask |= 1u << key.port.length;
        return mask;
    }
};

struct PolicyState {
    Ipcache ipcache;
    std::map<k8s::ObjectKey, EndpointPolicy> endpoints; // this node's pods, by Pod key
    std::map<IdentityLabels, Identity> label_identities;
    std::map<net::Prefix, Identity> cidr_identities;
    // Problems with the input that changed what was compiled (each says how).
    std::vector<Diagnostic> diagnostics;

    std::size_t entry_count() const {
        std::size_t n = 0;
        for (const auto& [key, endpoint] : endpoints)
            n += endpoint.allowed.size();
        return n;
    }
};

} // namespace kpr::policy
