// The load balancer's maps of one data path, typed, with the sync engine
// over them: the bridge from loaded objects (or an instance's pins) to
// ServiceProgrammer. A family is present when the data path was built with
// it, i.e. when both its service and backend maps exist; the external
// path's maps (source ranges, NAT, Maglev tables, affinity, NodePorts, node
// addresses) are used when the build made them.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/error.hpp"
#include "kpr/runtime/map.hpp"
#include "kpr/sync/service_programmer.hpp"

namespace kpr::sync {

// A map's descriptor by name, or -1 when there is no such map.
using MapLookup = std::function<int(std::string_view name)>;

// A map of the data path, if it was built.
template <class Key, class Value>
std::optional<runtime::Map<Key, Value>> optional_map(const MapLookup& lookup, const layout::MapSpec<Key, Value>& spec) {
    const int fd = lookup(spec.name);
    if (fd < 0)
        return std::nullopt;
    return runtime::Map<Key, Value>(spec, fd);
}

// What the build manifest says about choosing backends.
struct LoadBalancingSettings {
    bool maglev = false; // backendSelection maglev
    std::uint32_t maglev_table_size = 0;
    std::uint32_t maglev_tables = 0;
};

template <class F> class FamilyTables {
  public:
    using ServiceMap = runtime::Map<typename F::ServiceKey, layout::ServiceValue>;
    using BackendMap = runtime::Map<layout::BackendKey, typename F::Backend>;

    // nullptr when the data path has neither map of the family.
    static std::unique_ptr<FamilyTables> open(const MapLookup& lookup, SharedExternalMaps shared) {
        const int services = lookup(F::services.name);
        const int backends = lookup(F::backends.name);
        if (services < 0 && backends < 0)
            return nullptr;
        if (services < 0 || backends < 0)
            throw runtime::Error(fmt::format("the data path has map {} but not {}",
                                             services < 0 ? F::backends.name : F::services.name,
                                             services < 0 ? F::services.name : F::backends.name));
        return std::unique_ptr<FamilyTables>(new FamilyTables(lookup, services, backends, shared));
    }

    FamilyProgrammer<F>& programmer() { return programmer_; }
    const FamilyProgrammer<F>& programmer() const { return programmer_; }

  private:
    FamilyTables(const MapLookup& lookup, int services, int backends, SharedExternalMaps shared)
        : services_(F::services, services), backends_(F::backends, backends),
          source_ranges_(optional_map(lookup, F::source_ranges)), nat_(optional_map(lookup, F::nat)),
          extras_(source_ranges_ ? &*source_ranges_ : nullptr, nat_ ? &*nat_ : nullptr, shared),
          programmer_(services_, backends_, &extras_) {}

    ServiceMap services_;
    BackendMap backends_;
    std::optional<runtime::Map<typename F::SourceRangeKey, layout::SourceRangeValue>> source_ranges_;
    std::optional<runtime::Map<typename F::NatKey, typename F::NatValue>> nat_;
    FrontendExtras<F> extras_;
    FamilyProgrammer<F> programmer_;
};

class LoadBalancerTables {
  public:
    explicit LoadBalancerTables(const MapLookup& lookup, const LoadBalancingSettings& settings = {})
        : maglev_map_(settings.maglev ? optional_map(lookup, layout::maglev_tables) : std::nullopt),
          affinity_(optional_map(lookup, layout::affinity)), node_ports_(optional_map(lookup, layout::node_ports)),
          node_addresses_(optional_map(lookup, layout::node_addresses)),
          v4_(FamilyTables<Ipv4Maps>::open(lookup, shared(settings))),
          v6_(FamilyTables<Ipv6Maps>::open(lookup, shared(settings))),
          programmer_(v4_ ? &v4_->programmer() : nullptr, v6_ ? &v6_->programmer() : nullptr,
                      node_ports_ ? &*node_ports_ : nullptr) {
        if (!v4_ && !v6_)
            throw runtime::Error("the data path has no service maps (kpr_svc4, kpr_svc6)");
    }

    // The external path's SNAT source: the first given address of each
    // family, zero (none: SNAT is a counted drop) for a family without one.
    // Returns whether the data path has kpr_nodeaddr.
    bool set_node_addresses(const std::vector<net::Address>& addresses) {
        if (!node_addresses_)
            return false;
        for (const auto family : {net::Family::ipv4, net::Family::ipv6}) {
            layout::NodeAddress value{};
            const auto found = std::find_if(addresses.begin(), addresses.end(),
                                            [&](const auto& a) { return a.family() == family; });
            if (found != addresses.end()) {
                if (found->is_v4())
                    value.address[0] = Ipv4Maps::to_layout(*found);
                else
                    value.address = Ipv6Maps::to_layout(*found);
            }
            node_addresses_->update(layout::NodeAddressKey{family == net::Family::ipv4 ? layout::node_address_ipv4
                                                                                       : layout::node_address_ipv6},
                                    value);
        }
        return true;
    }

    // The slot-0 fields of a programmed frontend.
    std::optional<FrontendHead> head_of(const Frontend& f) const {
        if (f.address.is_v4())
            return v4_ ? v4_->programmer().head_of(f) : std::nullopt;
        return v6_ ? v6_->programmer().head_of(f) : std::nullopt;
    }

    ServiceProgrammer& programmer() { return programmer_; }

    std::size_t frontend_count() const {
        return (v4_ ? v4_->programmer().frontend_count() : 0) + (v6_ ? v6_->programmer().frontend_count() : 0);
    }

    // Every programmed frontend with the backends it reaches.
    std::map<Frontend, std::vector<BackendAddress>> contents() const {
        std::map<Frontend, std::vector<BackendAddress>> out;
        const auto collect = [&](const auto& fam) {
            if (!fam)
                return;
            for (const auto& f : fam->programmer().frontends())
                out[f] = fam->programmer().backends_of(f);
        };
        collect(v4_);
        collect(v6_);
        return out;
    }

  private:
    SharedExternalMaps shared(const LoadBalancingSettings& settings) {
        if (maglev_map_ && !maglev_)
            maglev_.emplace(*maglev_map_, settings.maglev_table_size, settings.maglev_tables);
        return {maglev_ ? &*maglev_ : nullptr, affinity_ ? &*affinity_ : nullptr};
    }

    std::optional<runtime::Map<layout::MaglevKey, layout::MaglevValue>> maglev_map_;
    std::optional<MaglevTables> maglev_;
    std::optional<runtime::Map<layout::AffinityKey, layout::AffinityValue>> affinity_;
    std::optional<runtime::Map<layout::NodePortKey, layout::NodePortValue>> node_ports_;
    std::optional<runtime::Map<layout::NodeAddressKey, layout::NodeAddress>> node_addresses_;
    std::unique_ptr<FamilyTables<Ipv4Maps>> v4_;
    std::unique_ptr<FamilyTables<Ipv6Maps>> v6_;
    ServiceProgrammer programmer_;
};

} // namespace kpr::sync
