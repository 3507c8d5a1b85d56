// The socket reverse-NAT maps: for a socket (by cookie) that was sent to a
// backend in place of a Service, the frontend to report back. recvmsg uses
// it to show a UDP reply as coming from the VIP, getpeername to report the
// VIP for a connected socket. LRU maps: entries of closed sockets age out.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"

namespace kpr::layout {

struct RevNatKey4 {
    static constexpr std::string_view c_name = "kpr_revnat4_key";
    std::uint64_t cookie; // bpf_get_socket_cookie()
    be32 address;         // the backend
    be16 port;
    std::uint16_t pad0;

    auto operator<=>(const RevNatKey4&) const = default;
};

struct RevNatValue4 {
    static constexpr std::string_view c_name = "kpr_revnat4_value";
    be32 address; // the frontend (VIP)
    be16 port;
    std::uint16_t rev_nat_id;

    auto operator<=>(const RevNatValue4&) const = default;
};

struct RevNatKey6 {
    static constexpr std::string_view c_name = "kpr_revnat6_key";
    std::uint64_t cookie;
    std::array<be32, 4> address;
    be16 port;
    std::array<std::uint8_t, 6> pad0;

    auto operator<=>(const RevNatKey6&) const = default;
};

struct RevNatValue6 {
    static constexpr std::string_view c_name = "kpr_revnat6_value";
    std::array<be32, 4> address;
    be16 port;
    std::uint16_t rev_nat_id;

    auto operator<=>(const RevNatValue6&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::RevNatKey4, cookie, address, port, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::RevNatValue4, address, port, rev_nat_id);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::RevNatKey6, cookie, address, port, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::RevNatValue6, address, port, rev_nat_id);
