// The changes a source has seen since the last sync, coalesced: which
// Services' frontends they may affect (a Service event names itself, an
// EndpointSlice event the Service it belongs to, before and after), when
// each event arrived (for the latency counters), whether policy objects
// changed, or that everything must be
// recomputed (a relist, a file source's reload). A burst of events for one
// Service — a rolling update of 1,000 pods — is one entry here and one
// recompute of that Service.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kpr/sync/sync_counters.hpp"

namespace kpr::sync {

// (namespace, name) of a Service.
using ServiceName = std::pair<std::string, std::string>;

struct PendingChanges {
    bool everything = false;
    std::set<ServiceName> services;
    std::vector<Clock::time_point> arrivals;
    // A Pod, Namespace or NetworkPolicy changed: the policy is compiled again.
    bool policy_objects = false;

    bool empty() const { return !everything && services.empty() && arrivals.empty() && !policy_objects; }
};

} // namespace kpr::sync
