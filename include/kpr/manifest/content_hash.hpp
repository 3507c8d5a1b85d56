// The fingerprints a build manifest records: FNV-1a (64 bit) over bytes,
// written "fnv1a64:<16 hex digits>". They identify a schema file, an
// object and a map layout; they guard against mix-ups, not against an
// attacker (the object's integrity is the deployment's to protect).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace kpr::manifest {

inline std::string content_hash(std::string_view bytes) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return fmt::format("fnv1a64:{:016x}", h);
}

} // namespace kpr::manifest
