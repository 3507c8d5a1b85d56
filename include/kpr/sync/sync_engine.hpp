// Brings the maps to what the typed cluster state asks for, for either
// source (files or the API watch), recomputing as little as it can:
//
// - Incremental: when the pending changes name a few Services that are
//   already programmed and whose frontends stay the same (their endpoints
//   changed, the common case by far), only those Services' backends are
//   recomputed and only their frontends are written.
// - Full: anything else (a Service added, removed or given other frontends,
//   a frontend contested by two Services, a relist, the first sync) rebuilds
//   the whole model; the programmer still writes only what differs.
//
// Either way the programmer's order holds: a concurrent connect() never sees
// a half-written frontend. Each sync is counted, with the latency of every
// event it applied.
#pragma once

#include <map>
#include <vector>

#include "kpr/k8s/cluster_state.hpp"
#include "kpr/sync/load_balancer_model.hpp"
#include "kpr/sync/pending_changes.hpp"
#include "kpr/sync/service_programmer.hpp"
#include "kpr/sync/sync_counters.hpp"

namespace kpr::sync {

struct SyncResult {
    ApplyReport report;
    bool full = false;
};

class SyncEngine {
  public:
    // Above this many changed Services a full rebuild is as cheap.
    static constexpr std::size_t incremental_limit = 256;

    SyncEngine(ServiceProgrammer& programmer, ModelOptions options, SyncCounters& counters)
        : programmer_(programmer), options_(std::move(options)), counters_(counters) {}

    SyncResult sync(const k8s::ClusterState& state, const PendingChanges& changes, ApplyScope scope) {
        const auto started = Clock::now();
        SyncResult result;
        std::vector<DesiredService> changed;
        if (scope == ApplyScope::everything && incremental(state, changes, changed)) {
            std::vector<const DesiredService*> pointers;
            for (const auto& d : changed)
                pointers.push_back(&d);
            result.report = programmer_.apply_services(pointers);
            for (auto& d : changed) {
                note_health_check(d);
                auto key = d.service;
                desired_.insert_or_assign(std::move(key), std::move(d));
            }
        } else {
            result.full = true;
            auto model = build_model(state, options_);
            result.report = programmer_.apply(model, scope);
            desired_.clear();
            have_model_ = scope == ApplyScope::everything;
            // Like the frontends: a model that may lack Services closes no port.
            if (have_model_)
                health_checks_.clear();
            for (const auto& d : model.services)
                note_health_check(d);
            if (have_model_)
                for (auto& d : model.services) {
                    auto key = d.service;
                    desired_.emplace(std::move(key), std::move(d));
                }
        }
        const auto done = Clock::now();
        counters_.synced(result.full, changes.arrivals, done, done - started);
        return result;
    }

    // The healthCheckNodePorts to serve, with each Service's local endpoints.
    const std::map<k8s::ObjectKey, HealthCheck>& health_checks() const { return health_checks_; }

  private:
    void note_health_check(const DesiredService& d) {
        if (d.health_check)
            health_checks_.insert_or_assign(d.service, *d.health_check);
        else
            health_checks_.erase(d.service);
    }

    // The Services to reprogram when the incremental path applies; false
    // when a full rebuild is needed.
    bool incremental(const k8s::ClusterState& state, const PendingChanges& changes,
                     std::vector<DesiredService>& changed) const {
        if (!have_model_ || changes.everything || changes.services.size() > incremental_limit)
            return false;
        for (const auto& [namespace_, name] : changes.services) {
            const k8s::ObjectKey key{"Service", namespace_, name};
            const auto svc = state.services.find(key);
            const auto cached = desired_.find(key);
            const bool wanted = svc != state.services.end() && is_proxied(svc->second, options_);
            if (!wanted && cached == desired_.end())
                continue; // e.g. a slice of a Service that does not exist (yet)
            if (!wanted || cached == desired_.end())
                return false;
            Claims claims;
            std::vector<Diagnostic> problems;
            auto desired = desired_service(svc->second, slices_of(state, namespace_, name), options_, claims, problems);
            if (!problems.empty() || !same_frontends(desired, cached->second) ||
                desired.node_ports != cached->second.node_ports)
                return false;
            if (desired.frontends != cached->second.frontends || desired.health_check != cached->second.health_check)
                changed.push_back(std::move(desired));
        }
        return true;
    }

    static bool same_frontends(const DesiredService& a, const DesiredService& b) {
        return std::equal(a.frontends.begin(), a.frontends.end(), b.frontends.begin(), b.frontends.end(),
                          [](const auto& x, const auto& y) { return x.frontend == y.frontend; });
    }

    // The Service's slices: those of its namespace (one contiguous range of
    // the state's map) that name it.
    static std::vector<const k8s::EndpointSlice*> slices_of(const k8s::ClusterState& state,
                                                           const std::string& namespace_, const std::string& name) {
        std::vector<const k8s::EndpointSlice*> out;
        for (auto it = state.endpoint_slices.lower_bound({"EndpointSlice", namespace_, ""});
             it != state.endpoint_slices.end() && it->first.namespace_ == namespace_; ++it)
            if (it->second.service_name == name)
                out.push_back(&it->second);
        return out;
    }

    ServiceProgrammer& programmer_;
    ModelOptions options_;
    SyncCounters& counters_;
    std::map<k8s::ObjectKey, DesiredService> desired_;
    bool have_model_ = false;
    std::map<k8s::ObjectKey, HealthCheck> health_checks_;
};

} // namespace kpr::sync
