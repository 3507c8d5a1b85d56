// Programs one address family's service and backend maps, frontend by
// frontend, in an order under which a concurrent connect() only ever sees a
// complete frontend:
//   add or change: backends first, then the frontend's slots, then its
//                  slot-0 entry with the new count, then surplus slots, then
//                  backends nothing refers to any more;
//   remove:        the slot-0 entry first, then the slots, then the backends.
// It mirrors what is in the maps (read back from them at start, so a
// restarted agent changes only what differs) and writes nothing for a
// frontend that is already as desired. Each step is one batch write (one
// syscall), applied by the kernel entry by entry in order. Slot 0 also
// carries the frontend's flags, Maglev table and affinity timeout; what they
// refer to is written first and cleaned up after (frontend_extras.hpp), and
// a backend's flows go before the backend.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/map.hpp"
#include "kpr/sync/address_family.hpp"
#include "kpr/sync/frontend_extras.hpp"
#include "kpr/sync/id_allocator.hpp"

namespace kpr::sync {

// Entries a change would need in each map, to check capacity before writing.
struct MapUsage {
    std::size_t service_entries = 0;
    std::size_t backend_entries = 0;
};

template <class F> class FamilyProgrammer {
  public:
    using ServiceMap = runtime::MapIo<typename F::ServiceKey, layout::ServiceValue>;
    using BackendMap = runtime::MapIo<layout::BackendKey, typename F::Backend>;

    // Without extras, no external map is programmed (flags still are).
    FamilyProgrammer(ServiceMap& services, BackendMap& backends, FrontendExtras<F>* extras = nullptr)
        : services_(services), backends_(backends), extras_(extras ? extras : &own_extras_) {
        read_back();
    }

    ServiceMap& service_map() { return services_; }
    BackendMap& backend_map() { return backends_; }
    MapUsage usage() const { return {service_entries_, backend_by_id_.size()}; }
    bool programmed(const Frontend& f) const { return frontends_.contains(f); }
    std::size_t frontend_count() const { return frontends_.size(); }

    // What the maps would hold with `frontends` programmed as desired.
    MapUsage usage_after(const std::vector<const DesiredFrontend*>& frontends) const {
        MapUsage after = usage();
        std::set<typename F::Backend> added;
        for (const auto* d : frontends) {
            const auto old = frontends_.find(d->frontend);
            if (old != frontends_.end())
                after.service_entries -= old->second.entries;
            after.service_entries += 1 + d->backends.size();
            for (const auto& b : d->backends) {
                const auto value = backend_value<F>(b, d->frontend.protocol);
                if (!backend_ids_.contains(value))
                    added.insert(value);
            }
        }
        // Backends a change frees are deleted only after it, so they still count.
        after.backend_entries += added.size();
        return after;
    }

    // Writes what differs; returns whether anything was written.
    bool program(const DesiredFrontend& desired) {
        if (desired.backends.size() > std::numeric_limits<std::uint16_t>::max())
            throw runtime::Error(fmt::format("frontend {} has {} backends, more than the {} a "
                                             "frontend can hold",
                                             desired.frontend.str(), desired.backends.size(),
                                             std::numeric_limits<std::uint16_t>::max()));
        const auto& f = desired.frontend;
        std::vector<std::uint32_t> ids;
        BackendWrites added;
        for (const auto& b : desired.backends)
            ids.push_back(acquire_backend(backend_value<F>(b, f.protocol), added));

        auto it = frontends_.find(f);
        if (it != frontends_.end() && it->second.backend_ids == ids && it->second.strays.empty() &&
            extras_->current(desired, it->second.rev_nat_id, it->second.head, false)) {
            release_backends(ids);
            return false;
        }
        backends_.update_batch(added.keys, added.values);
        const bool fresh = it == frontends_.end();
        if (fresh)
            it = frontends_.emplace(f, Programmed{allocate_rev_nat(f), {}, {}, 0, {}}).first;
        auto& p = it->second;
        const auto previous = fresh ? std::nullopt : std::optional(p.head);
        const auto head = extras_->prepare(desired, p.rev_nat_id, ids, previous, fresh || p.backend_ids != ids);
        const auto count = static_cast<std::uint16_t>(ids.size());
        std::vector<typename F::ServiceKey> slot_keys;
        std::vector<layout::ServiceValue> slot_values;
        for (std::uint16_t slot = 1; slot <= count; ++slot) {
            const auto id = ids[slot - 1];
            if (slot <= p.backend_ids.size() && p.backend_ids[slot - 1] == id)
                continue;
            slot_keys.push_back(service_key<F>(f, slot));
            slot_values.push_back(layout::ServiceValue{id, 0, p.rev_nat_id, 0, 0, 0});
        }
        services_.update_batch(slot_keys, slot_values);
        if (fresh || count != p.backend_ids.size() || head != p.head)
            services_.update(service_key<F>(f, 0), layout::ServiceValue{0, count, p.rev_nat_id, head.flags,
                                                                        head.maglev_table, head.affinity_seconds});
        p.head = head;
        extras_->settle(desired, p.rev_nat_id, head, previous);
        erase_slots(f, p, count + 1);

        const auto old_ids = std::exchange(p.backend_ids, ids);
        p.strays.clear();
        service_entries_ = service_entries_ - p.entries + 1 + ids.size();
        p.entries = 1 + ids.size();
        release_backends(old_ids);
        return true;
    }

    void remove(const Frontend& f) {
        auto it = frontends_.find(f);
        if (it == frontends_.end())
            return;
        auto& p = it->second;
        services_.erase(service_key<F>(f, 0));
        erase_slots(f, p, 1);
        extras_->removed(p.rev_nat_id, p.head);
        release_backends(p.backend_ids);
        rev_nat_ids_.release(p.rev_nat_id);
        service_entries_ -= p.entries;
        frontends_.erase(it);
    }

    std::vector<Frontend> frontends() const {
        std::vector<Frontend> out;
        for (const auto& [f, p] : frontends_)
            out.push_back(f);
        return out;
    }

    // The backends a connect() to the frontend can reach, in slot order.
    std::vector<BackendAddress> backends_of(const Frontend& f) const {
        std::vector<BackendAddress> out;
        const auto it = frontends_.find(f);
        if (it == frontends_.end())
            return out;
        for (auto id : it->second.backend_ids) {
            const auto b = backend_by_id_.find(id);
            if (b != backend_by_id_.end())
                out.push_back({F::from_layout(b->second.address), b->second.port.host()});
        }
        return out;
    }

    // Backends no frontend refers to: left over by an agent that stopped
    // half-way. Called once the desired frontends are in place.
    void remove_unreferenced_backends() {
        std::vector<std::uint32_t> orphans;
        for (const auto& [id, backend] : backend_by_id_)
            if (!refs_.contains(id))
                orphans.push_back(id);
        std::vector<layout::BackendKey> freed;
        for (auto id : orphans)
            forget_backend(id, freed);
        erase_backends(freed);
    }

    // The frontend's slot 0 fields beyond the count, as programmed.
    std::optional<FrontendHead> head_of(const Frontend& f) const {
        const auto it = frontends_.find(f);
        return it == frontends_.end() ? std::nullopt : std::optional(it->second.head);
    }

    // Forgets the mirror and reads the maps again: after a failed write, the
    // maps are the truth.
    void read_back() {
        frontends_.clear();
        backend_ids_.clear();
        backend_by_id_.clear();
        refs_.clear();
        backend_id_alloc_ = IdAllocator(1, std::numeric_limits<std::uint32_t>::max());
        rev_nat_ids_ = IdAllocator(1, std::numeric_limits<std::uint16_t>::max());
        service_entries_ = 0;
        extras_->read_back();

        backends_.for_each([&](const layout::BackendKey& k, const typename F::Backend& v) {
            backend_by_id_[k.backend_id] = v;
            backend_ids_[v] = k.backend_id;
            backend_id_alloc_.reserve(k.backend_id);
        });
        std::map<Frontend, std::map<std::uint16_t, std::uint32_t>> slots;
        std::map<Frontend, layout::ServiceValue> heads;
        services_.for_each([&](const typename F::ServiceKey& k, const layout::ServiceValue& v) {
            ++service_entries_;
            if (k.backend_slot == 0)
                heads[frontend_of<F>(k)] = v;
            else
                slots[frontend_of<F>(k)][k.backend_slot] = v.backend_id;
        });
        std::set<std::uint16_t> live;
        for (const auto& [f, head] : heads) {
            Programmed p{head.rev_nat_id, {}, {}, 1, FrontendHead::of(head)};
            rev_nat_ids_.reserve(head.rev_nat_id);
            live.insert(head.rev_nat_id);
            extras_->found(p.head);
            auto& own = slots[f];
            for (std::uint16_t slot = 1; slot <= head.count; ++slot) {
                const auto s = own.find(slot);
                // A missing slot reads as backend 0, which differs from any
                // desired id, so the next program() rewrites it.
                const std::uint32_t id = s == own.end() ? 0 : s->second;
                p.backend_ids.push_back(id);
                if (s != own.end()) {
                    ++p.entries;
                    if (backend_by_id_.contains(id))
                        ++refs_[id];
                    own.erase(s);
                }
            }
            for (const auto& [slot, id] : own) {
                p.strays.push_back(slot);
                ++p.entries;
            }
            own.clear();
            frontends_.emplace(f, std::move(p));
        }
        // Slots without a slot-0 entry: a frontend whose removal was cut short.
        std::vector<typename F::ServiceKey> headless;
        for (const auto& [f, own] : slots)
            for (const auto& [slot, id] : own)
                headless.push_back(service_key<F>(f, slot));
        services_.erase_batch(headless);
        service_entries_ -= headless.size();
        extras_->prune(live);
    }

  private:
    struct Programmed {
        std::uint16_t rev_nat_id;
        std::vector<std::uint32_t> backend_ids; // slot i + 1 holds backend_ids[i]
        std::vector<std::uint16_t> strays;      // slots beyond the count, to delete
        std::size_t entries;                    // map entries this frontend holds
        FrontendHead head;                      // slot 0's flags, Maglev table, affinity timeout
    };

    // Backends a frontend adds, written together before its slots.
    struct BackendWrites {
        std::vector<layout::BackendKey> keys;
        std::vector<typename F::Backend> values;
    };

    // Deletes the frontend's slots from `first` on, and its stray slots.
    void erase_slots(const Frontend& f, const Programmed& p, std::size_t first) {
        std::vector<typename F::ServiceKey> keys;
        for (auto slot = first; slot <= p.backend_ids.size(); ++slot)
            keys.push_back(service_key<F>(f, static_cast<std::uint16_t>(slot)));
        for (auto slot : p.strays)
            keys.push_back(service_key<F>(f, slot));
        services_.erase_batch(keys);
    }

    std::uint16_t allocate_rev_nat(const Frontend& f) {
        const auto id = rev_nat_ids_.allocate();
        if (!id)
            throw runtime::Error(fmt::format("frontend {}: all {} reverse-NAT ids are in use", f.str(),
                                             std::numeric_limits<std::uint16_t>::max()));
        return static_cast<std::uint16_t>(*id);
    }

    // Takes a reference to the backend, queueing it in `added` when it is new;
    // if that write fails, the caller reads the maps back.
    std::uint32_t acquire_backend(const typename F::Backend& value, BackendWrites& added) {
        if (auto it = backend_ids_.find(value); it != backend_ids_.end()) {
            ++refs_[it->second];
            return it->second;
        }
        const auto id = backend_id_alloc_.allocate();
        if (!id)
            throw runtime::Error(fmt::format("map {}: no backend id left", backends_.name()));
        added.keys.push_back(layout::BackendKey{*id});
        added.values.push_back(value);
        backend_ids_[value] = *id;
        backend_by_id_[*id] = value;
        refs_[*id] = 1;
        return *id;
    }

    // Drops one reference to each, deleting those left unreferenced in one batch.
    void release_backends(const std::vector<std::uint32_t>& ids) {
        std::vector<layout::BackendKey> freed;
        for (auto id : ids)
            release_backend(id, freed);
        erase_backends(freed);
    }

    // Deletes the backends, their flows first.
    void erase_backends(const std::vector<layout::BackendKey>& freed) {
        std::set<std::uint32_t> ids;
        for (const auto& k : freed)
            ids.insert(k.backend_id);
        extras_->backends_gone(ids);
        backends_.erase_batch(freed);
    }

    void release_backend(std::uint32_t id, std::vector<layout::BackendKey>& freed) {
        auto ref = refs_.find(id);
        if (ref == refs_.end())
            return;
        if (--ref->second > 0)
            return;
        refs_.erase(ref);
        forget_backend(id, freed);
    }

    // Forgets the backend and queues its deletion in `freed`.
    void forget_backend(std::uint32_t id, std::vector<layout::BackendKey>& freed) {
        const auto it = backend_by_id_.find(id);
        if (it == backend_by_id_.end())
            return;
        freed.push_back(layout::BackendKey{id});
        backend_ids_.erase(it->second);
        backend_by_id_.erase(it);
        backend_id_alloc_.release(id);
    }

    ServiceMap& services_;
    BackendMap& backends_;
    FrontendExtras<F> own_extras_;
    FrontendExtras<F>* extras_;
    std::map<Frontend, Programmed> frontends_;
    std::map<typename F::Backend, std::uint32_t> backend_ids_;
    std::map<std::uint32_t, typename F::Backend> backend_by_id_;
    std::map<std::uint32_t, std::uint32_t> refs_;
    IdAllocator backend_id_alloc_{1, std::numeric_limits<std::uint32_t>::max()};
    IdAllocator rev_nat_ids_{1, std::numeric_limits<std::uint16_t>::max()};
    std::size_t service_entries_ = 0;
};

} // namespace kpr::sync
