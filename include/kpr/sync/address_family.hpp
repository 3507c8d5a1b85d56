// The per-family half of the sync engine: how a frontend and a backend of
// one address family become keys and values of that family's maps, and back.
#pragma once

#include <cstring>

#include "kpr/k8s/protocol.hpp"
#include "kpr/layout/maps.hpp"
#include "kpr/sync/load_balancer_model.hpp"

namespace kpr::sync {

struct Ipv4Maps {
    static constexpr net::Family family = net::Family::ipv4;
    static constexpr const auto& services = layout::services4;
    static constexpr const auto& backends = layout::backends4;
    static constexpr const auto& source_ranges = layout::source_ranges4;
    static constexpr const auto& nat = layout::nat4;
    using ServiceKey = layout::ServiceKey4;
    using Backend = layout::Backend4;
    using SourceRangeKey = layout::SourceRangeKey4;
    using NatKey = layout::NatKey4;
    using NatValue = layout::NatValue4;

    static layout::be32 to_layout(const net::Address& a) { return layout::be32::from_network(a.v4_network_order()); }
    static net::Address from_layout(layout::be32 a) { return net::Address::v4(a.raw); }
};

struct Ipv6Maps {
    static constexpr net::Family family = net::Family::ipv6;
    static constexpr const auto& services = layout::services6;
    static constexpr const auto& backends = layout::backends6;
    static constexpr const auto& source_ranges = layout::source_ranges6;
    static constexpr const auto& nat = layout::nat6;
    using ServiceKey = layout::ServiceKey6;
    using Backend = layout::Backend6;
    using SourceRangeKey = layout::SourceRangeKey6;
    using NatKey = layout::NatKey6;
    using NatValue = layout::NatValue6;

    static std::array<layout::be32, 4> to_layout(const net::Address& a) {
        std::array<layout::be32, 4> out;
        std::memcpy(out.data(), a.v6_bytes().data(), 16);
        return out;
    }
    static net::Address from_layout(const std::array<layout::be32, 4>& a) {
        std::array<std::uint8_t, 16> bytes;
        std::memcpy(bytes.data(), a.data(), 16);
        return net::Address::v6(bytes);
    }
};

template <class F> typename F::ServiceKey service_key(const Frontend& f, std::uint16_t slot) {
    typename F::ServiceKey key{};
    key.address = F::to_layout(f.address);
    key.port = layout::be16::from_host(f.port);
    key.proto = k8s::ip_protocol_number(f.protocol);
    key.backend_slot = slot;
    return key;
}

template <class F> Frontend frontend_of(const typename F::ServiceKey& key) {
    return Frontend{F::from_layout(key.address), key.port.host(), static_cast<k8s::Protocol>(key.proto)};
}

template <class F> typename F::Backend backend_value(const BackendAddress& b, k8s::Protocol p) {
    typename F::Backend value{};
    value.address = F::to_layout(b.address);
    value.port = layout::be16::from_host(b.port);
    value.proto = k8s::ip_protocol_number(p);
    return value;
}

} // namespace kpr::sync
