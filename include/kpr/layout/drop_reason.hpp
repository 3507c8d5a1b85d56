// Why the TC data path dropped a packet, declared once: the enum the agent
// reads counters by, the names it shows them under, and the C enum kpr-gen
// emits into the TC programs (KPR_DROP_<NAME in capitals>). The drops map
// (per-CPU array) is indexed by reason and counts packets; its layouts are
// here too.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/describe.hpp"

namespace kpr::layout {

enum class DropReason : std::uint32_t {
    truncated_ethernet,
    truncated_ipv4,
    invalid_ipv4_header,
    truncated_ipv6,
    truncated_ipv6_extension,
    ipv6_extension_chain_too_long,
    truncated_transport,
    family_not_enabled,
    unknown_endpoint,
    baseline_denied_ingress,
    baseline_denied_egress,
    policy_denied_ingress,
    policy_denied_egress,
    policy_revoked,
    no_local_backend,
    no_backend,
    source_range_denied,
    snat_ports_exhausted,
    no_node_address,
    no_route,
};

struct DropReasonInfo {
    DropReason reason;
    std::string_view name; // lower_snake_case; the C enumerator is KPR_DROP_<NAME>
    std::string_view meaning;
};

inline constexpr std::array drop_reasons{
    DropReasonInfo{DropReason::truncated_ethernet, "truncated_ethernet",
                   "shorter than an Ethernet header"},
    DropReasonInfo{DropReason::truncated_ipv4, "truncated_ipv4",
                   "shorter than its IPv4 header (options included)"},
    DropReasonInfo{DropReason::invalid_ipv4_header, "invalid_ipv4_header",
                   "IPv4 header length below 20 bytes"},
    DropReasonInfo{DropReason::truncated_ipv6, "truncated_ipv6", "shorter than an IPv6 header"},
    DropReasonInfo{DropReason::truncated_ipv6_extension, "truncated_ipv6_extension",
                   "ends inside an IPv6 extension header"},
    DropReasonInfo{DropReason::ipv6_extension_chain_too_long, "ipv6_extension_chain_too_long",
                   "more IPv6 extension headers than the parser follows"},
    DropReasonInfo{DropReason::truncated_transport, "truncated_transport",
                   "ends inside its TCP, UDP, SCTP or ICMP header"},
    DropReasonInfo{DropReason::family_not_enabled, "family_not_enabled",
                   "an IP family the cluster schema does not enable"},
    DropReasonInfo{DropReason::unknown_endpoint, "unknown_endpoint",
                   "on an interface with no endpoint entry"},
    DropReasonInfo{DropReason::baseline_denied_ingress, "baseline_denied_ingress",
                   "denied by a baseline rule on the way into a pod"},
    DropReasonInfo{DropReason::baseline_denied_egress, "baseline_denied_egress",
                   "denied by a baseline rule on the way out of a pod"},
    DropReasonInfo{DropReason::policy_denied_ingress, "policy_denied_ingress",
                   "no NetworkPolicy allows it into the pod"},
    DropReasonInfo{DropReason::policy_denied_egress, "policy_denied_egress",
                   "no NetworkPolicy allows it out of the pod"},
    DropReasonInfo{DropReason::policy_revoked, "policy_revoked",
                   "a tracked connection that policy no longer allows"},
    DropReasonInfo{DropReason::no_local_backend, "no_local_backend",
                   "an externalTrafficPolicy Local frontend with no backend on this node"},
    DropReasonInfo{DropReason::no_backend, "no_backend",
                   "an external frontend with no usable backend"},
    DropReasonInfo{DropReason::source_range_denied, "source_range_denied",
                   "a client outside the frontend's loadBalancerSourceRanges"},
    DropReasonInfo{DropReason::snat_ports_exhausted, "snat_ports_exhausted",
                   "every SNAT port probed for a new external flow is taken"},
    DropReasonInfo{DropReason::no_node_address, "no_node_address",
                   "a flow to SNAT, and no node address of its family is set"},
    DropReasonInfo{DropReason::no_route, "no_route",
                   "the FIB has no route for a translated packet"},
};

inline constexpr std::uint32_t drop_reason_count = drop_reasons.size();

consteval bool drop_reasons_in_enum_order() {
    for (std::uint32_t i = 0; i < drop_reason_count; ++i)
        if (static_cast<std::uint32_t>(drop_reasons[i].reason) != i)
            return false;
    return true;
}
static_assert(drop_reasons_in_enum_order(), "drop_reasons lists every reason in enum order");

inline constexpr const DropReasonInfo& info(DropReason r) {
    return drop_reasons[static_cast<std::uint32_t>(r)];
}

struct DropKey {
    static constexpr std::string_view c_name = "kpr_drop_key";
    std::uint32_t reason; // DropReason

    auto operator<=>(const DropKey&) const = default;
};

struct DropCount {
    static constexpr std::string_view c_name = "kpr_drop_count";
    std::uint64_t packets; // on one CPU

    auto operator<=>(const DropCount&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::DropKey, reason);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::DropCount, packets);

static_assert((kpr::layout::check_key_layout<kpr::layout::DropKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::DropCount>(), true));
