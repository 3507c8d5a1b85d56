// The service map: one entry per frontend (VIP, port, protocol) at slot 0
// holding the number of usable backends, and one entry per backend at slots
// 1..count holding that backend's id. Choosing a backend is two O(1)
// lookups whatever the number of services or backends.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"

namespace kpr::layout {

struct ServiceKey4 {
    static constexpr std::string_view c_name = "kpr_service4_key";
    be32 address;
    be16 port;
    std::uint8_t proto; // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP
    std::uint8_t pad0;
    std::uint16_t backend_slot; // 0: the frontend entry; 1..count: its backends
    std::uint16_t pad1;

    auto operator<=>(const ServiceKey4&) const = default;
};

struct ServiceKey6 {
    static constexpr std::string_view c_name = "kpr_service6_key";
    std::array<be32, 4> address;
    be16 port;
    std::uint8_t proto;
    std::uint8_t pad0;
    std::uint16_t backend_slot;
    std::uint16_t pad1;

    auto operator<=>(const ServiceKey6&) const = default;
};

struct ServiceValue {
    static constexpr std::string_view c_name = "kpr_service_value";
    std::uint32_t backend_id; // slots 1..count: the backend; slot 0: unused (0)
    std::uint16_t count;      // slot 0: usable backends; 0 makes connect() fail at once
    std::uint16_t rev_nat_id; // the frontend's id, checked before translating replies back

    auto operator<=>(const ServiceValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::ServiceKey4, address, port, proto, pad0, backend_slot, pad1);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::ServiceKey6, address, port, proto, pad0, backend_slot, pad1);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::ServiceValue, backend_id, count, rev_nat_id);
