// The conntrack maps (LRU hashes, one per family): the connections the TC
// programs allowed, keyed by the tuple of the packet that opened them and
// the policy direction that allowed it (0 ingress: into the pod behind the
// program, 1 egress: out of it), so a pod-to-pod connection on one node has
// an entry for each end's policy. A reply is found under the swapped tuple.
// ICMP echo is keyed by its identifier: the request's as source port, the
// reply's as destination port, so the swapped reply key is the request's.
// The value records the endpoint's policy_revision the connection was last
// allowed under (docs/policy.md, "Established connections").
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct ConntrackKey4 {
    static constexpr std::string_view c_name = "kpr_ct4_key";
    be32 saddr; // of the packet that opened the connection
    be32 daddr;
    be16 sport; // ICMP echo: the identifier in a request's key
    be16 dport; // ICMP echo: the identifier in a reply's key
    std::uint8_t proto;
    std::uint8_t direction; // 0 ingress, 1 egress, as PolicyKey
    std::array<std::uint8_t, 2> pad0;

    auto operator<=>(const ConntrackKey4&) const = default;
};

struct ConntrackKey6 {
    static constexpr std::string_view c_name = "kpr_ct6_key";
    std::array<be32, 4> saddr;
    std::array<be32, 4> daddr;
    be16 sport;
    be16 dport;
    std::uint8_t proto;
    std::uint8_t direction;
    std::array<std::uint8_t, 2> pad0;

    auto operator<=>(const ConntrackKey6&) const = default;
};

// TCP's states; UDP and ICMP entries are `established` until revoked. A
// `revoked` entry is a connection whose allow was removed: it stays until
// its timeout so that neither end's packets can open it again as new
// (docs/datapath-tc.md, "Established connections after a policy change").
enum class ConntrackState : std::uint8_t {
    new_connection = 0,
    established = 1,
    closing = 2,
    revoked = 3
};

inline constexpr std::uint8_t conntrack_reply_seen = 1u << 0;

struct ConntrackValue {
    static constexpr std::string_view c_name = "kpr_ct_value";
    std::uint64_t expires_ns;      // bpf_ktime_get_ns() at which the entry stops counting
    std::uint32_t policy_revision; // the endpoint's, when policy last allowed the connection
    std::uint8_t state;            // ConntrackState
    std::uint8_t flags;            // conntrack_*
    std::array<std::uint8_t, 2> pad0;

    auto operator<=>(const ConntrackValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::ConntrackKey4, saddr, daddr, sport, dport, proto, direction,
                        pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::ConntrackKey6, saddr, daddr, sport, dport, proto, direction,
                        pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::ConntrackValue, expires_ns, policy_revision, state, flags,
                        pad0);

static_assert((kpr::layout::check_key_layout<kpr::layout::ConntrackKey4>(), true));
static_assert((kpr::layout::check_key_layout<kpr::layout::ConntrackKey6>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::ConntrackValue>(), true));
