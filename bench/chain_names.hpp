// Chain names shaped like kube-proxy's: a prefix and base32 characters of a
// hash of the Service port (and endpoint), so every name in a ruleset of N
// Services is distinct and as long as kube-proxy's. kube-proxy hashes with
// SHA-256; any hash gives rules of the same shape and size, so this one is
// FNV-1a, which needs no library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kpr::bench {

// `length` (at most 24) base32 characters of a 120-bit hash of text.
inline std::string chain_hash(std::string_view text, std::size_t length) {
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    auto fnv1a = [&](std::uint64_t h) {
        for (const char c : text)
            h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        return h;
    };
    // Two 64-bit hashes from different offsets, 60 bits of each.
    const std::uint64_t halves[] = {fnv1a(0xcbf29ce484222325ULL), fnv1a(0x84222325cbf29ce4ULL)};
    std::string out;
    for (std::size_t k = 0; k < length && k < 24; ++k)
        out += alphabet[(halves[k / 12] >> (5 * (k % 12))) & 31];
    return out;
}

} // namespace kpr::bench
