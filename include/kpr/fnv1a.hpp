// FNV-1a, 64 bit: a hash fixed by its definition, so the same bytes hash
// alike with any compiler, library or machine (std::hash would not). Used
// where every node or build must agree: identity numbers, manifest hashes.
#pragma once

#include <cstdint>
#include <string_view>

namespace kpr {

inline std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

} // namespace kpr
