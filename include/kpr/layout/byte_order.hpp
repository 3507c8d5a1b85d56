// Integer types whose byte order is part of the type. Map fields the kernel
// reads in network byte order (addresses, ports) use these, so a host-order
// value cannot be stored there by accident, and the emitted C says __be16.
#pragma once

#include <arpa/inet.h>

#include <compare>
#include <cstdint>

namespace kpr::layout {

struct be16 {
    std::uint16_t raw = 0; // network byte order

    static constexpr be16 from_network(std::uint16_t v) { return be16{v}; }
    static be16 from_host(std::uint16_t v) { return be16{htons(v)}; }
    std::uint16_t host() const { return ntohs(raw); }
    auto operator<=>(const be16&) const = default;
};

struct be32 {
    std::uint32_t raw = 0; // network byte order

    static constexpr be32 from_network(std::uint32_t v) { return be32{v}; }
    static be32 from_host(std::uint32_t v) { return be32{htonl(v)}; }
    std::uint32_t host() const { return ntohl(raw); }
    auto operator<=>(const be32&) const = default;
};

static_assert(sizeof(be16) == 2 && alignof(be16) == 2);
static_assert(sizeof(be32) == 4 && alignof(be32) == 4);

} // namespace kpr::layout
