// ClientIP session affinity (one LRU hash for both families, kpr_affinity):
// the backend a client last used for a frontend. The socket path keys by
// the connecting socket's network namespace cookie (address zero), the TC
// external path by the client's address (cookie 0). An entry counts while
// now - last_used_ns < the frontend's affinity_seconds and its backend is
// still one of the frontend's.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"
#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct AffinityKey {
    static constexpr std::string_view c_name = "kpr_affinity_key";
    std::uint64_t client_cookie;        // bpf_get_netns_cookie(); 0 on the TC path
    std::array<be32, 4> client_address; // IPv4 in [0]; zero on the socket path
    std::uint16_t rev_nat_id;           // the frontend
    std::uint8_t family;                // 4 or 6
    std::uint8_t pad0;
    std::array<std::uint8_t, 4> pad1;

    auto operator<=>(const AffinityKey&) const = default;
};

struct AffinityValue {
    static constexpr std::string_view c_name = "kpr_affinity_value";
    std::uint64_t last_used_ns; // bpf_ktime_get_ns()
    std::uint32_t backend_id;
    std::array<std::uint8_t, 4> pad0;

    auto operator<=>(const AffinityValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::AffinityKey, client_cookie, client_address, rev_nat_id, family,
                        pad0, pad1);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::AffinityValue, last_used_ns, backend_id, pad0);

static_assert((kpr::layout::check_key_layout<kpr::layout::AffinityKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::AffinityValue>(), true));
