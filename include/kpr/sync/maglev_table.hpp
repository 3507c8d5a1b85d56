// Maglev consistent hashing (Eisenbud et al., NSDI 2016) for the external
// path's backend choice (issue 7): a lookup table of a prime size M in which
// every backend holds about M/N slots, and removing one of N backends moves
// little more than its own 1/N of the slots. A backend is known by a name
// (its address and port as text), hashed with FNV-1a, and backends take
// their turns in the order of their names, so every node computes the same
// table from the same backends, whatever order they arrived in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "kpr/fnv1a.hpp"

namespace kpr::sync {

// The table: slot -> index into the names given. Empty when there are no
// backends. The size must be prime (the schema checks maglevTableSize) and
// the names distinct.
inline std::vector<std::uint32_t> maglev_table(std::span<const std::string> names,
                                               std::uint32_t size) {
    if (size < 2)
        throw std::invalid_argument(fmt::format("a Maglev table of {} slots is too small", size));
    if (names.empty())
        return {};
    if (names.size() > size)
        throw std::invalid_argument(fmt::format(
            "{} backends do not fit a Maglev table of {} slots", names.size(), size));

    std::vector<std::uint32_t> turn(names.size());
    std::iota(turn.begin(), turn.end(), 0u);
    std::sort(turn.begin(), turn.end(), [&](auto a, auto b) { return names[a] < names[b]; });
    for (std::size_t i = 1; i < turn.size(); ++i)
        if (names[turn[i]] == names[turn[i - 1]])
            throw std::invalid_argument(
                fmt::format("backend {} is named twice in one Maglev table", names[turn[i]]));

    // Each backend's permutation of the slots: offset + j * skip (mod size),
    // which visits every slot because size is prime and 0 < skip < size.
    struct Walk {
        std::uint64_t offset, skip, next = 0;
    };
    std::vector<Walk> walks;
    walks.reserve(turn.size());
    for (auto b : turn) {
        const std::string_view name = names[b];
        const auto h1 = fnv1a64(fmt::format("maglev-offset:{}", name));
        const auto h2 = fnv1a64(fmt::format("maglev-skip:{}", name));
        walks.push_back({h1 % size, h2 % (size - 1) + 1});
    }

    constexpr auto free_slot = ~std::uint32_t{0};
    std::vector<std::uint32_t> table(size, free_slot);
    std::uint32_t filled = 0;
    while (true) {
        for (std::size_t t = 0; t < turn.size(); ++t) {
            auto& w = walks[t];
            std::uint64_t slot;
            do {
                slot = (w.offset + w.next * w.skip) % size;
                ++w.next;
            } while (table[slot] != free_slot);
            table[slot] = turn[t];
            if (++filled == size)
                return table;
        }
    }
}

} // namespace kpr::sync
