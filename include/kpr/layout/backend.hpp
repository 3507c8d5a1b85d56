// The backend maps: backend id -> address and port, one map per family.
// Services refer to backends by id, so a pod behind several Services is
// stored once and moving it is one write.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/byte_order.hpp"

namespace kpr::layout {

struct BackendKey {
    static constexpr std::string_view c_name = "kpr_backend_key";
    std::uint32_t backend_id; // never 0

    auto operator<=>(const BackendKey&) const = default;
};

struct Backend4 {
    static constexpr std::string_view c_name = "kpr_backend4";
    be32 address;
    be16 port;
    std::uint8_t proto;
    std::uint8_t pad0;

    auto operator<=>(const Backend4&) const = default;
};

struct Backend6 {
    static constexpr std::string_view c_name = "kpr_backend6";
    std::array<be32, 4> address;
    be16 port;
    std::uint8_t proto;
    std::uint8_t pad0;

    auto operator<=>(const Backend6&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::BackendKey, backend_id);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::Backend4, address, port, proto, pad0);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::Backend6, address, port, proto, pad0);
