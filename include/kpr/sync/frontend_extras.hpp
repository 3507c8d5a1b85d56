// What a frontend's slot 0 carries besides its count (service_flag_*, the
// Maglev table, the affinity timeout), and the entries of the external
// path's maps it needs (issue 7), kept in the order the data path must see:
//   before slot 0 is written: the source ranges it adds, its Maglev table
//                             (a fresh one whenever its backends change);
//   after:                    the source ranges it dropped, the old table;
//   before a backend is deleted: its NAT and affinity entries, so its flows
//                             fail fast instead of hanging.
// A map the data path was built without is simply absent: a frontend that
// needs it (source ranges without kpr_srcrange*) is refused, one that can do
// without (no Maglev table: random choice) does.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/error.hpp"
#include "kpr/runtime/map.hpp"
#include "kpr/sync/address_family.hpp"
#include "kpr/sync/id_allocator.hpp"
#include "kpr/sync/maglev_table.hpp"

namespace kpr::sync {

// Slot 0's fields beyond the count.
struct FrontendHead {
    std::uint16_t flags = 0;
    std::uint16_t maglev_table = 0;
    std::uint32_t affinity_seconds = 0;

    static FrontendHead of(const layout::ServiceValue& v) { return {v.flags, v.maglev_table, v.affinity_seconds}; }
    bool maglev() const { return flags & layout::service_flag_maglev; }
    bool operator==(const FrontendHead&) const = default;
};

// The Maglev tables, shared by both families' external frontends.
class MaglevTables {
  public:
    using TableMap = runtime::MapIo<layout::MaglevKey, layout::MaglevValue>;

    // tables × table_size entries of map.
    MaglevTables(TableMap& map, std::uint32_t table_size, std::uint32_t tables)
        : map_(map), table_size_(table_size), ids_(0, tables == 0 ? 0 : tables - 1), tables_(tables) {}

    // A table found named by a slot 0 entry: taken, and rewritten before reuse.
    void reserve(std::uint16_t table) { ids_.reserve(table); }
    void release(std::uint16_t table) { ids_.release(table); }

    // A new table holding these backends (names: address:port, the same on
    // every node; ids: their backend ids, in the same order).
    std::uint16_t write(const std::vector<std::string>& names, const std::vector<std::uint32_t>& ids,
                        const std::string& frontend) {
        const auto table = tables_ == 0 ? std::nullopt : ids_.allocate();
        if (!table)
            throw runtime::Error(fmt::format("frontend {}: all {} Maglev tables are in use (spec.maps.maglevTables)",
                                             frontend, tables_));
        const auto slots = maglev_table(names, table_size_);
        std::vector<layout::MaglevKey> keys(table_size_);
        std::vector<layout::MaglevValue> values(table_size_);
        for (std::uint32_t s = 0; s < table_size_; ++s) {
            keys[s] = layout::MaglevKey{*table * table_size_ + s};
            values[s] = layout::MaglevValue{slots.empty() ? 0 : ids[slots[s]]};
        }
        try {
            map_.update_batch(keys, values);
        } catch (const runtime::Error&) {
            ids_.release(*table);
            throw;
        }
        return static_cast<std::uint16_t>(*table);
    }

    std::uint32_t table_size() const { return table_size_; }

  private:
    TableMap& map_;
    std::uint32_t table_size_;
    IdAllocator ids_;
    std::uint32_t tables_;
};

// The maps shared by both families' extras; each may be absent.
struct SharedExternalMaps {
    MaglevTables* maglev = nullptr; // absent, or backendSelection random: no Maglev
    runtime::MapIo<layout::AffinityKey, layout::AffinityValue>* affinity = nullptr;
};

template <class F> class FrontendExtras {
  public:
    using SourceRangeMap = runtime::MapIo<typename F::SourceRangeKey, layout::SourceRangeValue>;
    using NatMap = runtime::MapIo<typename F::NatKey, typename F::NatValue>;

    FrontendExtras() = default;
    FrontendExtras(SourceRangeMap* source_ranges, NatMap* nat, SharedExternalMaps shared)
        : source_ranges_(source_ranges), nat_(nat), shared_(shared) {}

    // Forgets the mirror and reads the source ranges again; found() then
    // tells which heads exist, and prune() drops ranges of no frontend.
    void read_back() {
        ranges_.clear();
        if (!source_ranges_)
            return;
        source_ranges_->for_each([&](const typename F::SourceRangeKey& k, const layout::SourceRangeValue&) {
            const auto length = static_cast<std::uint8_t>(k.prefixlen - layout::source_range_prefix_bits);
            ranges_[k.rev_nat_id].insert(net::Prefix(F::from_layout(k.address), length));
        });
    }

    // Deletes the source ranges of frontends that no longer exist (an agent
    // stopped between deleting a slot 0 and its ranges).
    void prune(const std::set<std::uint16_t>& live_rev_nat_ids) {
        std::vector<typename F::SourceRangeKey> orphans;
        for (auto it = ranges_.begin(); it != ranges_.end();) {
            if (live_rev_nat_ids.contains(it->first)) {
                ++it;
                continue;
            }
            for (const auto& r : it->second)
                orphans.push_back(range_key(it->first, r));
            it = ranges_.erase(it);
        }
        if (source_ranges_)
            source_ranges_->erase_batch(orphans);
    }

    // The head a frontend with these backends gets, without writing anything.
    FrontendHead head_for(const DesiredFrontend& d) const {
        FrontendHead h;
        if (d.external())
            h.flags |= layout::service_flag_external;
        if (d.local_only)
            h.flags |= layout::service_flag_local_only;
        if (d.source_ranges_enforced)
            h.flags |= layout::service_flag_source_ranges;
        if (d.external() && shared_.maglev)
            h.flags |= layout::service_flag_maglev;
        if (d.affinity_seconds) {
            h.flags |= layout::service_flag_affinity;
            h.affinity_seconds = d.affinity_seconds;
        }
        return h;
    }

    // Whether the frontend's extras already are as desired.
    bool current(const DesiredFrontend& d, std::uint16_t rev_nat_id, const FrontendHead& programmed,
                 bool backends_changed) const {
        auto want = head_for(d);
        if (want.maglev()) {
            if (backends_changed || stale_tables_.contains(programmed.maglev_table) || !programmed.maglev())
                return false;
            want.maglev_table = programmed.maglev_table;
        }
        return want == programmed && wanted_ranges(d) == ranges_of(rev_nat_id);
    }

    // Writes what the new head refers to and returns it; `previous` is the
    // head programmed now, if any.
    FrontendHead prepare(const DesiredFrontend& d, std::uint16_t rev_nat_id, const std::vector<std::uint32_t>& ids,
                         const std::optional<FrontendHead>& previous, bool backends_changed) {
        auto head = head_for(d);
        const auto ranges = wanted_ranges(d);
        if (d.source_ranges_enforced && !source_ranges_)
            throw runtime::Error(fmt::format("frontend {} has loadBalancerSourceRanges, and this data path has no "
                                             "{} (built without nodeIngress); it is not programmed rather than open "
                                             "to every client",
                                             d.frontend.str(), F::source_ranges.name));
        if (source_ranges_) {
            std::vector<typename F::SourceRangeKey> added;
            const auto& now = ranges_of(rev_nat_id);
            for (const auto& r : ranges)
                if (!now.contains(r))
                    added.push_back(range_key(rev_nat_id, r));
            source_ranges_->update_batch(added,
                                         std::vector<layout::SourceRangeValue>(added.size(), layout::SourceRangeValue{1}));
            for (const auto& r : ranges)
                ranges_[rev_nat_id].insert(r);
        }
        if (head.maglev()) {
            const bool reuse = previous && previous->maglev() && !backends_changed &&
                               !stale_tables_.contains(previous->maglev_table);
            if (reuse) {
                head.maglev_table = previous->maglev_table;
            } else {
                std::vector<std::string> names;
                for (const auto& b : d.backends)
                    names.push_back(b.str());
                head.maglev_table = shared_.maglev->write(names, ids, d.frontend.str());
            }
        }
        return head;
    }

    // After slot 0 holds `now`: drops the ranges and the table only the
    // previous head used.
    void settle(const DesiredFrontend& d, std::uint16_t rev_nat_id, const FrontendHead& now,
                const std::optional<FrontendHead>& previous) {
        if (source_ranges_) {
            const auto wanted = wanted_ranges(d);
            auto& have = ranges_[rev_nat_id];
            std::vector<typename F::SourceRangeKey> gone;
            for (const auto& r : have)
                if (!wanted.contains(r))
                    gone.push_back(range_key(rev_nat_id, r));
            source_ranges_->erase_batch(gone);
            have = wanted;
            if (have.empty())
                ranges_.erase(rev_nat_id);
        }
        if (previous && previous->maglev() && (!now.maglev() || now.maglev_table != previous->maglev_table))
            release_table(previous->maglev_table);
    }

    // After the frontend's slot 0 is deleted.
    void removed(std::uint16_t rev_nat_id, const FrontendHead& head) {
        if (source_ranges_) {
            std::vector<typename F::SourceRangeKey> gone;
            for (const auto& r : ranges_of(rev_nat_id))
                gone.push_back(range_key(rev_nat_id, r));
            source_ranges_->erase_batch(gone);
            ranges_.erase(rev_nat_id);
        }
        if (head.maglev())
            release_table(head.maglev_table);
    }

    // A slot 0 entry found in the maps: its table is taken, and rewritten
    // before it is used again (an agent may have stopped half-way through it).
    void found(const FrontendHead& head) {
        if (head.maglev() && shared_.maglev) {
            shared_.maglev->reserve(head.maglev_table);
            stale_tables_.insert(head.maglev_table);
        }
    }

    // Before these backends are deleted: the flows through them.
    void backends_gone(const std::set<std::uint32_t>& ids) {
        if (ids.empty())
            return;
        if (nat_) {
            std::vector<typename F::NatKey> flows;
            nat_->for_each([&](const typename F::NatKey& k, const typename F::NatValue& v) {
                if (ids.contains(v.backend_id))
                    flows.push_back(k);
            });
            nat_->erase_batch(flows);
        }
        if (shared_.affinity) {
            const auto family = static_cast<std::uint8_t>(F::family == net::Family::ipv4 ? 4 : 6);
            std::vector<layout::AffinityKey> stale;
            shared_.affinity->for_each([&](const layout::AffinityKey& k, const layout::AffinityValue& v) {
                if (k.family == family && ids.contains(v.backend_id))
                    stale.push_back(k);
            });
            shared_.affinity->erase_batch(stale);
        }
    }

  private:
    std::set<net::Prefix> wanted_ranges(const DesiredFrontend& d) const {
        return {d.source_ranges.begin(), d.source_ranges.end()};
    }

    const std::set<net::Prefix>& ranges_of(std::uint16_t rev_nat_id) const {
        static const std::set<net::Prefix> none;
        const auto it = ranges_.find(rev_nat_id);
        return it == ranges_.end() ? none : it->second;
    }

    static typename F::SourceRangeKey range_key(std::uint16_t rev_nat_id, const net::Prefix& range) {
        typename F::SourceRangeKey key{};
        key.prefixlen = layout::source_range_prefix_bits + range.length();
        key.rev_nat_id = rev_nat_id;
        key.address = F::to_layout(range.address());
        return key;
    }

    void release_table(std::uint16_t table) {
        if (!shared_.maglev)
            return;
        shared_.maglev->release(table);
        stale_tables_.erase(table);
    }

    SourceRangeMap* source_ranges_ = nullptr;
    NatMap* nat_ = nullptr;
    SharedExternalMaps shared_;
    std::map<std::uint16_t, std::set<net::Prefix>> ranges_; // by rev_nat_id, as in the map
    std::set<std::uint16_t> stale_tables_;
};

} // namespace kpr::sync
