// Numbers for label sets and CIDR blocks that every node derives alike
// from the same cluster state, with no coordination: a number is a stable
// hash of the canonical text, and collisions are settled by an order every
// node agrees on. The scheme (docs/policy.md, "Identities"):
//
// - hash = FNV-1a 64 of the canonical text; home = range.first + hash mod
//   range.size. FNV-1a is fixed by its definition, so the number does not
//   depend on the compiler, library or machine (std::hash would).
// - The texts are taken in ascending byte order; each takes the first free
//   number of its probe sequence home, home+1, ... (wrapping in the range).
//
// Two nodes that see the same set of texts therefore hand out the same
// numbers. A text keeps its number as long as no text that sorts before it
// starts colliding with it; with the default ranges (2^31 numbers) that is
// rare, and the cost of it is only a renumbering, applied like any change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "kpr/fnv1a.hpp"
#include "kpr/policy/identity.hpp"

namespace kpr::policy {

using kpr::fnv1a64;

struct Allocation {
    std::map<std::string, Identity> numbers;
    // Texts that did not get their home number (a collision settled).
    std::size_t displaced = 0;
    // Texts for which the range had no number left, in order.
    std::vector<std::string> unallocated;
};

// texts is a set: sorted, and the same whatever order the caller found them in.
inline Allocation allocate_identities(const std::set<std::string>& texts, IdentityRange range) {
    Allocation out;
    std::unordered_set<Identity> taken;
    for (const std::string& text : texts) {
        if (taken.size() == range.size()) {
            out.unallocated.push_back(text);
            continue;
        }
        const std::uint64_t home = fnv1a64(text) % range.size();
        for (std::uint64_t step = 0;; ++step) {
            const Identity candidate =
                static_cast<Identity>(range.first + (home + step) % range.size());
            if (taken.insert(candidate).second) {
                out.numbers.emplace(text, candidate);
                out.displaced += step != 0;
                break;
            }
        }
    }
    return out;
}

} // namespace kpr::policy
