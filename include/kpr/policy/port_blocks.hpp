// A port range as aligned power-of-two blocks ("prefixes" of the 16-bit
// port number), so that a hash map can match any range: a port p is in the
// block (first, length) when its top `length` bits equal first's. A range
// splits into at most 30 blocks and uses at most 16 distinct lengths plus
// the exact one; the datapath tries each length that occurs (docs/policy.md).
#pragma once

#include <cstdint>
#include <vector>

namespace kpr::policy {

inline constexpr std::uint8_t port_bits = 16;

struct PortBlock {
    std::uint16_t first; // the block's lowest port; its low 16-length bits are 0
    std::uint8_t length; // 16: the single port `first`; 0: every port

    auto operator<=>(const PortBlock&) const = default;
};

inline std::uint16_t port_mask(std::uint8_t length) {
    return static_cast<std::uint16_t>(length == 0 ? 0 : 0xffffu << (port_bits - length));
}

// The fewest aligned blocks that cover first..last exactly (first <= last).
inline std::vector<PortBlock> port_blocks(std::uint16_t first, std::uint16_t last) {
    std::vector<PortBlock> out;
    std::uint32_t lo = first;
    const std::uint32_t hi = last;
    while (lo <= hi) {
        // The largest block that starts at lo (lo is a multiple of its
        // size) and ends within the range.
        std::uint8_t size_bits = 0;
        while (size_bits < port_bits && lo % (1u << (size_bits + 1)) == 0 &&
               lo + (1u << (size_bits + 1)) - 1 <= hi)
            ++size_bits;
        out.push_back(
            {static_cast<std::uint16_t>(lo), static_cast<std::uint8_t>(port_bits - size_bits)});
        lo += 1u << size_bits;
    }
    return out;
}

} // namespace kpr::policy
