// The external path's NAT maps (LRU hashes, one per family, kpr_nat4/6):
// each translated flow has two entries keyed by the tuple as seen on the
// wire. Direction 0 (forward) is the client's packet to the frontend as it
// arrives on the external interface; direction 1 (reverse) is the backend's
// reply, addressed to the SNAT address and port (or to the client under
// externalTrafficPolicy Local). The value holds the addresses and ports to
// write into the packet, and the flow's backend and frontend so the agent
// can delete the flows of a backend that went away.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

inline constexpr std::uint8_t nat_forward = 0;
inline constexpr std::uint8_t nat_reverse = 1;

struct NatKey4 {
    static constexpr std::string_view c_name = "kpr_nat4_key";
    be32 saddr;
    be32 daddr;
    be16 sport; // ICMP echo: the identifier, as in ConntrackKey4
    be16 dport;
    std::uint8_t proto;
    std::uint8_t direction; // nat_forward or nat_reverse
    std::array<std::uint8_t, 2> pad0;

    auto operator<=>(const NatKey4&) const = default;
};

struct NatKey6 {
    static constexpr std::string_view c_name = "kpr_nat6_key";
    std::array<be32, 4> saddr;
    std::array<be32, 4> daddr;
    be16 sport;
    be16 dport;
    std::uint8_t proto;
    std::uint8_t direction;
    std::array<std::uint8_t, 2> pad0;

    auto operator<=>(const NatKey6&) const = default;
};

// Forward: to_daddr/to_dport the backend, to_saddr/to_sport the SNAT
// address and port (the client's own under externalTrafficPolicy Local).
// Reverse: to_saddr/to_sport the frontend, to_daddr/to_dport the client.
struct NatValue4 {
    static constexpr std::string_view c_name = "kpr_nat4_value";
    std::uint64_t expires_ns; // bpf_ktime_get_ns() at which the entry stops counting
    be32 to_saddr;
    be32 to_daddr;
    be16 to_sport;
    be16 to_dport;
    std::uint32_t backend_id;
    std::uint16_t rev_nat_id;
    std::uint8_t state; // ConntrackState: which idle timeout applies
    std::uint8_t flags; // the frontend's service_flag_* bits when the flow began (low byte)
    std::array<std::uint8_t, 4> pad0;

    auto operator<=>(const NatValue4&) const = default;
};

struct NatValue6 {
    static constexpr std::string_view c_name = "kpr_nat6_value";
    std::uint64_t expires_ns;
    std::array<be32, 4> to_saddr;
    std::array<be32, 4> to_daddr;
    be16 to_sport;
    be16 to_dport;
    std::uint32_t backend_id;
    std::uint16_t rev_nat_id;
    std::uint8_t state;
    std::uint8_t flags;
    std::array<std::uint8_t, 4> pad0;

    auto operator<=>(const NatValue6&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::NatKey4, saddr, daddr, sport, dport, proto, direction, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::NatKey6, saddr, daddr, sport, dport, proto, direction, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::NatValue4, expires_ns, to_saddr, to_daddr, to_sport, to_dport,
                        backend_id, rev_nat_id, state, flags, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::NatValue6, expires_ns, to_saddr, to_daddr, to_sport, to_dport,
                        backend_id, rev_nat_id, state, flags, pad0);

static_assert((kpr::layout::check_key_layout<kpr::layout::NatKey4>(), true));
static_assert((kpr::layout::check_key_layout<kpr::layout::NatKey6>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::NatValue4>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::NatValue6>(), true));
