// The socket load balancer's maps of one data path, typed, with the sync
// engine over them: the bridge from a loaded object (or an instance's pins)
// to ServiceProgrammer. A family is present when the data path was built
// with it, i.e. when both its service and backend maps exist.
#pragma once

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

template <class F> class FamilyTables {
  public:
    using ServiceMap = runtime::Map<typename F::ServiceKey, layout::ServiceValue>;
    using BackendMap = runtime::Map<layout::BackendKey, typename F::Backend>;

    // nullptr when the data path has neither map of the family.
    static std::unique_ptr<FamilyTables> open(const MapLookup& lookup) {
        const int services = lookup(F::services.name);
        const int backends = lookup(F::backends.name);
        if (services < 0 && backends < 0)
            return nullptr;
        if (services < 0 || backends < 0)
            throw runtime::Error(fmt::format("the data path has map {} but not {}",
                                             services < 0 ? F::backends.name : F::services.name,
                                             services < 0 ? F::services.name : F::backends.name));
        return std::unique_ptr<FamilyTables>(new FamilyTables(services, backends));
    }

    FamilyProgrammer<F>& programmer() { return programmer_; }
    const FamilyProgrammer<F>& programmer() const { return programmer_; }

  private:
    FamilyTables(int services, int backends)
        : services_(F::services, services), backends_(F::backends, backends), programmer_(services_, backends_) {}

    ServiceMap services_;
    BackendMap backends_;
    FamilyProgrammer<F> programmer_;
};

class LoadBalancerTables {
  public:
    explicit LoadBalancerTables(const MapLookup& lookup)
        : v4_(FamilyTables<Ipv4Maps>::open(lookup)), v6_(FamilyTables<Ipv6Maps>::open(lookup)),
          programmer_(v4_ ? &v4_->programmer() : nullptr, v6_ ? &v6_->programmer() : nullptr) {
        if (!v4_ && !v6_)
            throw runtime::Error("the data path has no service maps (kpr_svc4, kpr_svc6)");
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
    std::unique_ptr<FamilyTables<Ipv4Maps>> v4_;
    std::unique_ptr<FamilyTables<Ipv6Maps>> v6_;
    ServiceProgrammer programmer_;
};

} // namespace kpr::sync
