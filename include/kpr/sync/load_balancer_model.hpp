// What the socket load balancer should contain, computed from Services and
// EndpointSlices the way kube-proxy reads them: every cluster IP and port of
// every proxied Service becomes a frontend, with the backends kube-proxy
// would use for new connections.
//
// - Skipped, as by kube-proxy: headless Services, ExternalName Services,
//   Services without a cluster IP, and Services labelled
//   service.kubernetes.io/service-proxy-name unless the label names this
//   proxy (ModelOptions::proxy_name).
// - A Service port's backends come from the Service's EndpointSlices (label
//   kubernetes.io/service-name, same namespace, the cluster IP's family) and
//   their port with the Service port's name and protocol; that port number is
//   already resolved per pod, which is how named target ports work.
// - Endpoints are deduplicated by address and port across slices (a ready
//   copy wins, else a serving one). Ready endpoints are used; only when
//   there is none, serving-and-terminating ones are (so a rolling update
//   that leaves only terminating pods keeps working, as kube-proxy does
//   since 1.26); otherwise the frontend has no backend and connecting fails
//   at once.
// - Two Services claiming the same cluster IP, port and protocol: the one
//   that sorts first by namespace/name keeps it; the other is reported.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/diagnostic.hpp"
#include "kpr/k8s/cluster_state.hpp"
#include "kpr/net/address.hpp"

namespace kpr::sync {

inline constexpr std::string_view service_proxy_name_label = "service.kubernetes.io/service-proxy-name";
inline constexpr std::string_view service_name_label = "kubernetes.io/service-name";

struct ModelOptions {
    std::string proxy_name; // Services labelled with this proxy name are ours too
};

struct Frontend {
    net::Address address;
    std::uint16_t port = 0;
    k8s::Protocol protocol = k8s::Protocol::TCP;

    auto operator<=>(const Frontend&) const = default;
    std::string str() const { return fmt::format("{}/{}", address.with_port(port), to_string(protocol)); }
};

struct BackendAddress {
    net::Address address;
    std::uint16_t port = 0;

    auto operator<=>(const BackendAddress&) const = default;
    std::string str() const { return address.with_port(port); }
};

struct DesiredFrontend {
    Frontend frontend;
    std::vector<BackendAddress> backends; // sorted, distinct

    bool operator==(const DesiredFrontend&) const = default;
};

struct DesiredService {
    k8s::ObjectKey service;
    SourceLocation location;
    std::vector<DesiredFrontend> frontends; // sorted by frontend

    bool operator==(const DesiredService&) const = default;
};

struct LoadBalancerModel {
    std::vector<DesiredService> services; // sorted by service key
    std::vector<Diagnostic> problems;
};

inline bool is_proxied(const k8s::Service& svc, const ModelOptions& options) {
    if (svc.type == k8s::ServiceType::ExternalName || svc.headless || svc.cluster_ips.empty())
        return false;
    // Like kube-proxy's "label does not exist" selector: with no proxy name
    // of our own, even an empty value names another proxy.
    const auto label = svc.meta.labels.find(std::string(service_proxy_name_label));
    return label == svc.meta.labels.end() ||
           (!options.proxy_name.empty() && label->second == options.proxy_name);
}

namespace detail {

inline k8s::AddressType address_type_of(net::Family f) {
    return f == net::Family::ipv4 ? k8s::AddressType::IPv4 : k8s::AddressType::IPv6;
}

// Slices grouped by (namespace, service name), so a Service finds its own in
// one lookup.
using SliceIndex = std::map<std::pair<std::string, std::string>, std::vector<const k8s::EndpointSlice*>>;

inline SliceIndex index_slices(const k8s::ClusterState& state) {
    SliceIndex index;
    for (const auto& [key, slice] : state.endpoint_slices)
        if (!slice.service_name.empty())
            index[{slice.meta.namespace_, slice.service_name}].push_back(&slice);
    return index;
}

// Ready beats serving-and-terminating, which beats neither.
inline int usefulness(const k8s::EndpointConditions& c) {
    return c.ready ? 2 : c.serving && c.terminating ? 1 : 0;
}

inline std::vector<BackendAddress> usable_backends(const std::vector<const k8s::EndpointSlice*>& slices,
                                                   net::Family family, const k8s::ServicePort& port) {
    // Per address and port, the best conditions any slice reports.
    std::map<BackendAddress, k8s::EndpointConditions> endpoints;
    for (const auto* slice : slices) {
        if (slice->address_type != address_type_of(family))
            continue;
        const auto slice_port = std::find_if(slice->ports.begin(), slice->ports.end(), [&](const auto& p) {
            return p.name == port.name && p.protocol == port.protocol && p.port;
        });
        if (slice_port == slice->ports.end())
            continue;
        for (const auto& ep : slice->endpoints) {
            if (ep.addresses.empty() || ep.addresses.front().family() != family)
                continue;
            auto [it, inserted] = endpoints.try_emplace(BackendAddress{ep.addresses.front(), *slice_port->port},
                                                        ep.conditions);
            if (!inserted && usefulness(ep.conditions) > usefulness(it->second))
                it->second = ep.conditions;
        }
    }
    std::vector<BackendAddress> ready, serving_terminating;
    for (const auto& [backend, c] : endpoints) {
        if (c.ready)
            ready.push_back(backend);
        else if (c.serving && c.terminating)
            serving_terminating.push_back(backend);
    }
    return ready.empty() ? serving_terminating : ready;
}

} // namespace detail

// One proxied Service's frontends and their backends from its own slices.
// `owners` holds the frontends already given to Services that sort before
// it; a frontend taken is reported in problems and left out.
inline DesiredService desired_service(const k8s::Service& svc, const std::vector<const k8s::EndpointSlice*>& own_slices,
                                      std::map<Frontend, const k8s::Service*>& owners,
                                      std::vector<Diagnostic>& problems) {
    DesiredService desired{svc.key(), svc.meta.location, {}};
    for (const auto& ip : svc.cluster_ips) {
        for (const auto& port : svc.ports) {
            Frontend frontend{ip, port.port, port.protocol};
            auto [owner, fresh] = owners.try_emplace(frontend, &svc);
            if (!fresh) {
                problems.push_back(Diagnostic{svc.meta.location, svc.key().str(), "spec.clusterIPs",
                                              fmt::format("frontend {} already belongs to {}; this Service does not get it",
                                                          frontend.str(), owner->second->key().str())});
                continue;
            }
            desired.frontends.push_back({frontend, detail::usable_backends(own_slices, ip.family(), port)});
        }
    }
    std::sort(desired.frontends.begin(), desired.frontends.end(),
              [](const auto& a, const auto& b) { return a.frontend < b.frontend; });
    return desired;
}

inline LoadBalancerModel build_model(const k8s::ClusterState& state, const ModelOptions& options) {
    LoadBalancerModel model;
    const auto slices = detail::index_slices(state);
    std::map<Frontend, const k8s::Service*> owners;
    static const std::vector<const k8s::EndpointSlice*> no_slices;

    for (const auto& [key, svc] : state.services) {
        if (!is_proxied(svc, options))
            continue;
        const auto found = slices.find({svc.meta.namespace_, svc.meta.name});
        model.services.push_back(
            desired_service(svc, found == slices.end() ? no_slices : found->second, owners, model.problems));
    }
    return model;
}

} // namespace kpr::sync
