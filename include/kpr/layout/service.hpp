// The service map: one entry per frontend (VIP, port, protocol) at slot 0
// holding the number of usable backends and how the frontend is served
// (service_flag_*), and one entry per backend at slots 1..count holding that
// backend's id. Choosing a backend is two O(1) lookups whatever the number
// of services or backends.
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

// Slot 0's flags (emitted to C as KPR_SVC_<NAME in capitals>).
// A NodePort, LoadBalancer-ingress or ExternalIP frontend: the TC external
// path DNATs it (a ClusterIP frontend never has it).
inline constexpr std::uint16_t service_flag_external = 1u << 0;
// externalTrafficPolicy Local: the slots hold only this node's backends, the
// client's address is kept (no SNAT), and no backend is a counted drop.
inline constexpr std::uint16_t service_flag_local_only = 1u << 1;
// loadBalancerSourceRanges: only clients in kpr_srcrange4/6 under the
// frontend's rev_nat_id are admitted.
inline constexpr std::uint16_t service_flag_source_ranges = 1u << 2;
// Backends are chosen from the Maglev table `maglev_table` (kpr_maglev).
inline constexpr std::uint16_t service_flag_maglev = 1u << 3;
// ClientIP session affinity for `affinity_seconds` (kpr_affinity).
inline constexpr std::uint16_t service_flag_affinity = 1u << 4;

struct ServiceFlagInfo {
    std::uint16_t bit;
    std::string_view name; // the C macro is KPR_SVC_<NAME in capitals>
};

inline constexpr ServiceFlagInfo service_flags[] = {
    {service_flag_external, "external"},
    {service_flag_local_only, "local_only"},
    {service_flag_source_ranges, "source_ranges"},
    {service_flag_maglev, "maglev"},
    {service_flag_affinity, "affinity"},
};

struct ServiceValue {
    static constexpr std::string_view c_name = "kpr_service_value";
    std::uint32_t backend_id; // slots 1..count: the backend; slot 0: unused (0)
    std::uint16_t count;      // slot 0: usable backends; 0 makes connect() fail at once
    std::uint16_t rev_nat_id; // the frontend's id, checked before translating replies back
    // Slot 0 only (0 in slots 1..count):
    std::uint16_t flags;            // service_flag_*
    std::uint16_t maglev_table;     // with service_flag_maglev: the table's index in kpr_maglev
    std::uint32_t affinity_seconds; // with service_flag_affinity: the ClientIP timeout

    auto operator<=>(const ServiceValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::ServiceKey4, address, port, proto, pad0, backend_slot, pad1);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::ServiceKey6, address, port, proto, pad0, backend_slot, pad1);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::ServiceValue, backend_id, count, rev_nat_id, flags,
                        maglev_table, affinity_seconds);
