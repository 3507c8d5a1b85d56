// Brings the policy maps (ipcache per family, endpoint, policy) to the
// contents the compiler asks for, writing only differences, in an order
// that never denies what stays allowed:
//
//   1. new and changed policy entries, then ipcache entries (batched);
//   2. endpoint values (enforced flags, port masks, identities, revisions);
//   3. a caller's step (the agent detaches pods that went, so no program
//      meets a missing endpoint entry);
//   4. deletions: policy entries, ipcache entries, endpoints;
//   5. new policy revisions.
//
// An endpoint whose decisions could turn from allow to deny gets a new
// policy revision (docs/policy.md, "Established connections"): when one of
// its policy entries goes, a direction becomes enforced, its identity
// changes, or any ipcache entry's identities change (then every endpoint).
// The revision is written last: a tracked connection decided again before
// the deletions would otherwise be allowed by an entry about to go, and
// keep the new revision.
// Revisions come from one counter that only grows, kept in the endpoint map
// itself under endpoint id 0 (never an ifindex, so the data path never looks
// it up) and written before any endpoint value that uses a new number: a
// restarted agent, or a pod reusing a gone pod's ifindex, never meets a
// conntrack entry's old revision by chance.
//
// The mirror is read back from the maps at construction (a restarted agent
// writes only what differs) and after a failed write (the maps are the
// truth). A change that would not fit a map's capacity is refused whole,
// before any write, naming the map: nothing programmed is lost.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/layout/endpoint_policy.hpp"
#include "kpr/layout/ipcache.hpp"
#include "kpr/layout/policy.hpp"
#include "kpr/runtime/error.hpp"
#include "kpr/runtime/map.hpp"

namespace kpr::sync {

// What the maps should hold. Endpoint values carry no revision yet: the
// programmer assigns it.
struct PolicyMapContents {
    std::map<layout::IpcacheKey4, layout::IpcacheValue> ipcache4;
    std::map<layout::IpcacheKey6, layout::IpcacheValue> ipcache6;
    std::map<layout::EndpointKey, layout::EndpointValue> endpoints;
    std::map<layout::PolicyKey, layout::PolicyValue> policies;
};

struct PolicyMaps {
    // Either family's ipcache may be absent when the data path lacks it.
    runtime::MapIo<layout::IpcacheKey4, layout::IpcacheValue>* ipcache4 = nullptr;
    runtime::MapIo<layout::IpcacheKey6, layout::IpcacheValue>* ipcache6 = nullptr;
    runtime::MapIo<layout::EndpointKey, layout::EndpointValue>* endpoints = nullptr;
    runtime::MapIo<layout::PolicyKey, layout::PolicyValue>* policies = nullptr;
};

struct PolicyApplyReport {
    std::size_t written = 0;   // entries added or changed, all maps
    std::size_t removed = 0;   // entries deleted
    std::size_t unchanged = 0; // entries already as desired
    std::size_t revisions_bumped = 0;
    std::optional<std::string> refused; // why nothing was written, when nothing was
};

namespace detail {

// One map's mirror and the difference to a desired content.
template <class Key, class Value> class MirroredMap {
  public:
    explicit MirroredMap(runtime::MapIo<Key, Value>* map) : map_(map) { read_back(); }

    bool present() const { return map_ != nullptr; }
    const std::map<Key, Value>& mirror() const { return mirror_; }

    void read_back() {
        mirror_.clear();
        if (map_)
            map_->for_each([&](const Key& k, const Value& v) { mirror_.emplace(k, v); });
    }

    struct Diff {
        std::vector<Key> upsert_keys;
        std::vector<Value> upsert_values;
        std::vector<Key> erase_keys;
        std::size_t new_keys = 0;
        std::size_t unchanged = 0;
    };

    Diff diff(const std::map<Key, Value>& desired) const {
        Diff d;
        for (const auto& [key, value] : desired) {
            const auto it = mirror_.find(key);
            if (it != mirror_.end() && it->second == value) {
                ++d.unchanged;
                continue;
            }
            d.new_keys += it == mirror_.end();
            d.upsert_keys.push_back(key);
            d.upsert_values.push_back(value);
        }
        for (const auto& [key, value] : mirror_)
            if (!desired.contains(key))
                d.erase_keys.push_back(key);
        return d;
    }

    // Why the diff would not fit, if it would not: the additions land
    // before the deletions, so the peak is what counts.
    std::optional<std::string> overflow(const Diff& d) const {
        const std::size_t peak = mirror_.size() + d.new_keys;
        if (!map_ || peak <= map_->capacity())
            return std::nullopt;
        return fmt::format("map {} would need {} entries ({} now, {} new, {} to go after them), its capacity is {}",
                           map_->name(), peak, mirror_.size(), d.new_keys, d.erase_keys.size(), map_->capacity());
    }

    void upsert(const Diff& d) {
        if (d.upsert_keys.empty())
            return;
        map_->update_batch(d.upsert_keys, d.upsert_values);
        for (std::size_t i = 0; i < d.upsert_keys.size(); ++i)
            mirror_.insert_or_assign(d.upsert_keys[i], d.upsert_values[i]);
    }

    void erase(const Diff& d) {
        if (d.erase_keys.empty())
            return;
        map_->erase_batch(d.erase_keys);
        for (const auto& key : d.erase_keys)
            mirror_.erase(key);
    }

  private:
    runtime::MapIo<Key, Value>* map_;
    std::map<Key, Value> mirror_;
};

} // namespace detail

class PolicyProgrammer {
  public:
    explicit PolicyProgrammer(const PolicyMaps& maps)
        : ipcache4_(maps.ipcache4), ipcache6_(maps.ipcache6), endpoints_(maps.endpoints), policies_(maps.policies) {
        if (!maps.endpoints || !maps.policies)
            throw runtime::Error("the policy maps kpr_endpoint and kpr_policy are both needed");
        note_revisions();
    }

    // kpr_endpoint[revision_counter].policy_revision: the highest revision issued.
    static constexpr layout::EndpointKey revision_counter{0};

    std::size_t endpoint_count() const {
        return endpoints_.mirror().size() - endpoints_.mirror().contains(revision_counter);
    }
    std::size_t policy_entries() const { return policies_.mirror().size(); }
    std::size_t ipcache_entries() const { return ipcache4_.mirror().size() + ipcache6_.mirror().size(); }

    // before_deletions runs after every addition and change has landed and
    // before anything is deleted.
    PolicyApplyReport apply(PolicyMapContents desired, const std::function<void()>& before_deletions = [] {}) {
        PolicyApplyReport report;
        if (!ipcache4_.present())
            desired.ipcache4.clear();
        if (!ipcache6_.present())
            desired.ipcache6.clear();
        const auto bumped = assign_revisions(desired);
        // Sorted first, so written first in the endpoint batch.
        desired.endpoints[revision_counter] =
            layout::EndpointValue{0, 0, 0, static_cast<std::uint32_t>(next_revision_ - 1 + bumped.size()), 0, {}};
        const auto ip4 = ipcache4_.diff(desired.ipcache4);
        const auto ip6 = ipcache6_.diff(desired.ipcache6);
        const auto ep = endpoints_.diff(desired.endpoints);
        const auto pol = policies_.diff(desired.policies);
        for (const auto& why : {policies_.overflow(pol), ipcache4_.overflow(ip4), ipcache6_.overflow(ip6),
                                endpoints_.overflow(ep)})
            if (why) {
                report.refused = fmt::format("{}; nothing was changed, the maps keep what they hold", *why);
                return report;
            }
        std::map<layout::EndpointKey, layout::EndpointValue> revised;
        try {
            policies_.upsert(pol);
            ipcache4_.upsert(ip4);
            ipcache6_.upsert(ip6);
            endpoints_.upsert(ep);
            before_deletions();
            policies_.erase(pol);
            ipcache4_.erase(ip4);
            ipcache6_.erase(ip6);
            endpoints_.erase(ep);
            revised = endpoints_.mirror();
            for (auto& [key, value] : revised)
                if (bumped.contains(key))
                    value.policy_revision = next_revision_++;
            endpoints_.upsert(endpoints_.diff(revised));
        } catch (const runtime::Error&) {
            read_back();
            throw;
        }
        // The counter is bookkeeping, not an entry anyone asked for.
        const bool counter_written = !ep.upsert_keys.empty() && ep.upsert_keys.front() == revision_counter;
        report.written = pol.upsert_keys.size() + ip4.upsert_keys.size() + ip6.upsert_keys.size() +
                         ep.upsert_keys.size() - counter_written;
        report.removed =
            pol.erase_keys.size() + ip4.erase_keys.size() + ip6.erase_keys.size() + ep.erase_keys.size();
        report.unchanged = pol.unchanged + ip4.unchanged + ip6.unchanged + ep.unchanged - !counter_written;
        report.revisions_bumped = bumped.size();
        return report;
    }

    // The maps are the truth (after a failed write).
    void read_back() {
        ipcache4_.read_back();
        ipcache6_.read_back();
        endpoints_.read_back();
        policies_.read_back();
        note_revisions();
    }

  private:
    void note_revisions() {
        for (const auto& [key, value] : endpoints_.mirror())
            next_revision_ = std::max(next_revision_, value.policy_revision + 1);
    }

    template <class Key>
    static bool identities_changed(const std::map<Key, layout::IpcacheValue>& mirror,
                                   const std::map<Key, layout::IpcacheValue>& desired) {
        const auto same = [](const auto& a, const auto& b) {
            return a.first == b.first && a.second.identity == b.second.identity &&
                   a.second.cidr_identity == b.second.cidr_identity;
        };
        return !std::equal(mirror.begin(), mirror.end(), desired.begin(), desired.end(), same);
    }

    // Each desired endpoint keeps its revision (a new one gets a fresh
    // number); returned are those that need a new one once every other
    // write has landed, because a decision for them could turn from allow
    // to deny.
    std::set<layout::EndpointKey> assign_revisions(PolicyMapContents& desired) {
        const bool ipcache_moved = identities_changed(ipcache4_.mirror(), desired.ipcache4) ||
                                   identities_changed(ipcache6_.mirror(), desired.ipcache6);
        std::set<std::uint32_t> lost_entries;
        for (const auto& [key, value] : policies_.mirror())
            if (!desired.policies.contains(key))
                lost_entries.insert(key.endpoint_id);
        std::set<layout::EndpointKey> bumped;
        desired.endpoints.erase(revision_counter);
        for (auto& [key, value] : desired.endpoints) {
            const auto old = endpoints_.mirror().find(key);
            if (old == endpoints_.mirror().end()) {
                value.policy_revision = next_revision_++;
                continue;
            }
            value.policy_revision = old->second.policy_revision;
            const bool newly_enforced = (value.flags & ~old->second.flags) != 0;
            if (ipcache_moved || newly_enforced || lost_entries.contains(key.endpoint_id) ||
                value.identity != old->second.identity)
                bumped.insert(key);
        }
        return bumped;
    }

    detail::MirroredMap<layout::IpcacheKey4, layout::IpcacheValue> ipcache4_;
    detail::MirroredMap<layout::IpcacheKey6, layout::IpcacheValue> ipcache6_;
    detail::MirroredMap<layout::EndpointKey, layout::EndpointValue> endpoints_;
    detail::MirroredMap<layout::PolicyKey, layout::PolicyValue> policies_;
    std::uint32_t next_revision_ = 1;
};

} // namespace kpr::sync
