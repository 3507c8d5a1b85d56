// Hands out small integer ids (backend ids, reverse-NAT ids) from a range,
// avoiding immediate reuse: a freed id is handed out again only after the
// rest of the range, so a BPF program that read an old id a moment ago does
// not find it already meaning something else.
#pragma once

#include <cstdint>
#include <optional>
#include <set>

namespace kpr::sync {

class IdAllocator {
  public:
    IdAllocator(std::uint32_t first, std::uint32_t last) : first_(first), last_(last), next_(first) {}

    // Marks an id found in a pinned map as taken.
    void reserve(std::uint32_t id) { used_.insert(id); }
    void release(std::uint32_t id) { used_.erase(id); }
    bool in_use(std::uint32_t id) const { return used_.contains(id); }

    // nullopt when every id of the range is taken.
    std::optional<std::uint32_t> allocate() {
        const std::uint64_t span = std::uint64_t{last_} - first_ + 1;
        if (used_.size() >= span)
            return std::nullopt;
        for (std::uint64_t tries = 0; tries < span; ++tries) {
            const std::uint32_t id = next_;
            next_ = next_ == last_ ? first_ : next_ + 1;
            if (used_.insert(id).second)
                return id;
        }
        return std::nullopt;
    }

  private:
    std::uint32_t first_, last_, next_;
    std::set<std::uint32_t> used_;
};

} // namespace kpr::sync
