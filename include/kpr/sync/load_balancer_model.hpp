// What the load balancer should contain, computed from Services and
// EndpointSlices the way kube-proxy reads them: every cluster IP and port of
// every proxied Service becomes a frontend, with the backends kube-proxy
// would use for new connections; so do its external addresses (issue 7):
// each NodePort on each node address (--node-address, as kube-proxy's
// nftables mode defaults to the node's primary IPs rather than every local
// address), each load-balancer ingress IP and each external IP, per port.
//
// - externalTrafficPolicy Local: the external frontends get only this
//   node's endpoints (EndpointSlice nodeName), internalTrafficPolicy Local
//   the cluster-IP ones; sessionAffinity ClientIP gives every frontend its
//   timeout; loadBalancerSourceRanges go with the load-balancer frontends.
// - Bad external input costs only what it names, and is reported: a NodePort
//   outside the node-port range or held by a Service sorting first, a
//   load-balancer Service without an ingress IP (its NodePorts still work),
//   a source range that is no CIDR (its load-balancer frontends are left out
//   rather than opened to everyone), an external address of a family the
//   Service has no cluster IP of.
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
#include <charconv>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/diagnostic.hpp"
#include "kpr/k8s/cluster_state.hpp"
#include "kpr/net/address.hpp"
#include "kpr/net/prefix.hpp"

namespace kpr::sync {

inline constexpr std::string_view service_proxy_name_label = "service.kubernetes.io/service-proxy-name";
inline constexpr std::string_view service_name_label = "kubernetes.io/service-name";

// --service-node-port-range, kube-proxy's and the API server's default.
struct NodePortRange {
    std::uint16_t first = 30000;
    std::uint16_t last = 32767;

    // "30000-32767"; a single port "30000" is the range of that one.
    static std::optional<NodePortRange> parse(std::string_view text) {
        const auto dash = text.find('-');
        const auto number = [](std::string_view t) -> std::optional<std::uint16_t> {
            unsigned v = 0;
            const auto [end, err] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (t.empty() || err != std::errc() || end != t.data() + t.size() || v == 0 || v > 65535)
                return std::nullopt;
            return static_cast<std::uint16_t>(v);
        };
        const auto first = number(text.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : number(text.substr(dash + 1));
        if (!first || !last || *first > *last)
            return std::nullopt;
        return NodePortRange{*first, *last};
    }

    bool contains(std::uint16_t port) const { return port >= first && port <= last; }
    std::string str() const { return fmt::format("{}-{}", first, last); }
    bool operator==(const NodePortRange&) const = default;
};

struct ModelOptions {
    std::string proxy_name{}; // Services labelled with this proxy name are ours too
    std::string node_name{};  // endpoints with this nodeName are local (traffic policy Local)
    std::vector<net::Address> node_addresses{}; // where NodePort frontends exist
    NodePortRange node_port_range{};
};

enum class FrontendKind { cluster_ip, node_port, load_balancer, external_ip };

inline std::string_view to_string(FrontendKind k) {
    switch (k) {
    case FrontendKind::cluster_ip:
        return "clusterIP";
    case FrontendKind::node_port:
        return "nodePort";
    case FrontendKind::load_balancer:
        return "loadBalancer";
    case FrontendKind::external_ip:
        return "externalIP";
    }
    return "?";
}

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
    FrontendKind kind = FrontendKind::cluster_ip;
    bool local_only = false;            // an external frontend under externalTrafficPolicy Local
    std::uint32_t affinity_seconds = 0; // sessionAffinity ClientIP's timeout; 0: no affinity
    // A load-balancer frontend of a Service with loadBalancerSourceRanges:
    // only clients in these (of the frontend's family; none may be left)
    // get in.
    bool source_ranges_enforced = false;
    std::vector<net::Prefix> source_ranges{};

    bool external() const { return kind != FrontendKind::cluster_ip; }
    bool operator==(const DesiredFrontend&) const = default;
};

// A healthCheckNodePort to serve: the Service's local endpoints, which a
// cloud load balancer asks for before sending this node traffic.
struct HealthCheck {
    std::uint16_t port = 0;
    std::size_t local_endpoints = 0;

    bool operator==(const HealthCheck&) const = default;
};

struct DesiredService {
    k8s::ObjectKey service;
    SourceLocation location;
    std::vector<DesiredFrontend> frontends; // sorted by frontend
    std::optional<HealthCheck> health_check{}; // externalTrafficPolicy Local with a healthCheckNodePort
    // (nodePort, protocol) pairs this Service holds, which local sockets may not bind.
    std::vector<std::pair<std::uint16_t, k8s::Protocol>> node_ports{};

    bool operator==(const DesiredService&) const = default;
};

struct LoadBalancerModel {
    std::vector<DesiredService> services; // sorted by service key
    std::vector<Diagnostic> problems;
};

// What Services sorting earlier hold already: frontends, and NodePorts by
// port and protocol (on every node address at once).
struct Claims {
    std::map<Frontend, const k8s::Service*> frontends;
    std::map<std::pair<std::uint16_t, k8s::Protocol>, const k8s::Service*> node_ports;
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

// With only_node, the endpoints on that node alone (traffic policy Local):
// kube-proxy picks ready-else-serving-terminating among those.
inline std::vector<BackendAddress> usable_backends(const std::vector<const k8s::EndpointSlice*>& slices,
                                                   net::Family family, const k8s::ServicePort& port,
                                                   const std::string* only_node = nullptr) {
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
            if (ep.addresses.empty() || ep.addresses.front().family() != family ||
                (only_node && ep.node_name != *only_node))
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

// The Service's ready endpoints on this node, what its healthCheckNodePort
// reports: distinct addresses per family, the larger count of the two, so a
// dual-stack pod (one endpoint in each family's slices) counts once, as in
// kube-proxy, whose per-family proxiers each count their own family.
inline std::size_t local_ready_endpoints(const std::vector<const k8s::EndpointSlice*>& slices,
                                         const std::string& node_name) {
    std::set<net::Address> v4, v6;
    for (const auto* slice : slices)
        for (const auto& ep : slice->endpoints)
            if (!node_name.empty() && ep.node_name == node_name && ep.conditions.ready && !ep.addresses.empty())
                (ep.addresses.front().is_v4() ? v4 : v6).insert(ep.addresses.front());
    return std::max(v4.size(), v6.size());
}

// Builds one Service's frontends, claiming each against Services that sort
// before it and reporting what it cannot have.
class ServiceFrontends {
  public:
    ServiceFrontends(const k8s::Service& svc, const std::vector<const k8s::EndpointSlice*>& slices,
                     const ModelOptions& options, Claims& claims, std::vector<Diagnostic>& problems)
        : svc_(svc), slices_(slices), options_(options), claims_(claims), problems_(problems) {}

    DesiredService build() {
        DesiredService desired{svc_.key(), svc_.meta.location, {}, {}, {}};
        for (const auto& ip : svc_.cluster_ips)
            for (const auto& port : svc_.ports)
                add(desired, {ip, port.port, port.protocol}, FrontendKind::cluster_ip, port, "spec.clusterIPs");
        if (svc_.type == k8s::ServiceType::NodePort || svc_.type == k8s::ServiceType::LoadBalancer)
            add_node_ports(desired);
        if (svc_.type == k8s::ServiceType::LoadBalancer)
            add_load_balancer(desired);
        for (std::size_t i = 0; i < svc_.external_ips.size(); ++i)
            add_external_address(desired, svc_.external_ips[i], FrontendKind::external_ip,
                                 fmt::format("spec.externalIPs[{}]", i));
        if (svc_.external_traffic_policy == k8s::TrafficPolicy::Local && svc_.health_check_node_port != 0)
            desired.health_check = HealthCheck{svc_.health_check_node_port,
                                               local_ready_endpoints(slices_, options_.node_name)};
        std::sort(desired.frontends.begin(), desired.frontends.end(),
                  [](const auto& a, const auto& b) { return a.frontend < b.frontend; });
        return desired;
    }

  private:
    void report(std::string field, std::string message) {
        problems_.push_back(Diagnostic{svc_.meta.location, svc_.key().str(), std::move(field), std::move(message)});
    }

    bool has_family(net::Family f) const {
        return std::any_of(svc_.cluster_ips.begin(), svc_.cluster_ips.end(),
                           [&](const auto& a) { return a.family() == f; });
    }

    void add(DesiredService& desired, const Frontend& frontend, FrontendKind kind, const k8s::ServicePort& port,
             const std::string& field) {
        auto [owner, fresh] = claims_.frontends.try_emplace(frontend, &svc_);
        if (!fresh) {
            report(field, fmt::format("frontend {} already belongs to {}; this Service does not get it",
                                      frontend.str(), owner->second->key().str()));
            return;
        }
        DesiredFrontend d{frontend, {}, kind};
        const bool external = kind != FrontendKind::cluster_ip;
        const bool local = (external ? svc_.external_traffic_policy : svc_.internal_traffic_policy) ==
                           k8s::TrafficPolicy::Local;
        d.backends = detail::usable_backends(slices_, frontend.address.family(), port,
                                             local ? &options_.node_name : nullptr);
        d.local_only = external && local;
        if (svc_.session_affinity == k8s::SessionAffinity::ClientIP)
            d.affinity_seconds = svc_.affinity_timeout_seconds;
        if (kind == FrontendKind::load_balancer && !svc_.load_balancer_source_ranges.empty()) {
            d.source_ranges_enforced = true;
            for (const auto& range : source_ranges_)
                if (range.family() == frontend.address.family())
                    d.source_ranges.push_back(range);
        }
        desired.frontends.push_back(std::move(d));
    }

    void add_node_ports(DesiredService& desired) {
        for (std::size_t i = 0; i < svc_.ports.size(); ++i) {
            const auto& port = svc_.ports[i];
            const auto field = fmt::format("spec.ports[{}].nodePort", i);
            if (port.node_port == 0) {
                // A LoadBalancer may go without (allocateLoadBalancerNodePorts: false).
                if (svc_.type == k8s::ServiceType::NodePort)
                    report(field, "a NodePort Service's port has no nodePort; it is reachable on its cluster IP only");
                continue;
            }
            if (!options_.node_port_range.contains(port.node_port)) {
                report(field, fmt::format("{} is outside the node-port range {}; this port gets no NodePort",
                                          port.node_port, options_.node_port_range.str()));
                continue;
            }
            const std::pair key{port.node_port, port.protocol};
            auto [owner, fresh] = claims_.node_ports.try_emplace(key, &svc_);
            if (!fresh) {
                report(field, fmt::format("NodePort {}/{} already belongs to {}; this Service does not get it",
                                          port.node_port, to_string(port.protocol), owner->second->key().str()));
                continue;
            }
            desired.node_ports.push_back(key);
            for (const auto& address : options_.node_addresses)
                if (has_family(address.family()))
                    add(desired, {address, port.node_port, port.protocol}, FrontendKind::node_port, port, field);
        }
    }

    void add_load_balancer(DesiredService& desired) {
        if (svc_.load_balancer_ingress.empty()) {
            report("status.loadBalancer.ingress",
                   "a LoadBalancer Service without an ingress IP (none assigned yet?): only its cluster IPs and "
                   "NodePorts are programmed");
            return;
        }
        bool ranges_ok = true;
        for (std::size_t i = 0; i < svc_.load_balancer_source_ranges.size(); ++i) {
            const auto& text = svc_.load_balancer_source_ranges[i];
            if (auto range = net::Prefix::parse(text))
                source_ranges_.push_back(*range);
            else {
                report(fmt::format("spec.loadBalancerSourceRanges[{}]", i),
                       fmt::format("{:?} is not a CIDR; the load-balancer IPs are left out rather than open to every "
                                   "client",
                                   text));
                ranges_ok = false;
            }
        }
        if (!ranges_ok)
            return;
        for (std::size_t i = 0; i < svc_.load_balancer_ingress.size(); ++i)
            add_external_address(desired, svc_.load_balancer_ingress[i], FrontendKind::load_balancer,
                                 fmt::format("status.loadBalancer.ingress[{}].ip", i));
    }

    void add_external_address(DesiredService& desired, const net::Address& address, FrontendKind kind,
                              const std::string& field) {
        if (!has_family(address.family())) {
            report(field, fmt::format("{} is {}, and the Service has no {} cluster IP (no {} backends)", address.str(),
                                      net::to_string(address.family()), net::to_string(address.family()),
                                      net::to_string(address.family())));
            return;
        }
        for (const auto& port : svc_.ports)
            add(desired, {address, port.port, port.protocol}, kind, port, field);
    }

    const k8s::Service& svc_;
    const std::vector<const k8s::EndpointSlice*>& slices_;
    const ModelOptions& options_;
    Claims& claims_;
    std::vector<Diagnostic>& problems_;
    std::vector<net::Prefix> source_ranges_;
};

} // namespace detail

// One proxied Service's frontends and their backends from its own slices.
// `claims` holds what Services sorting before it took; a frontend or NodePort
// taken already is reported in problems and left out.
inline DesiredService desired_service(const k8s::Service& svc, const std::vector<const k8s::EndpointSlice*>& own_slices,
                                      const ModelOptions& options, Claims& claims, std::vector<Diagnostic>& problems) {
    return detail::ServiceFrontends(svc, own_slices, options, claims, problems).build();
}

inline LoadBalancerModel build_model(const k8s::ClusterState& state, const ModelOptions& options) {
    LoadBalancerModel model;
    const auto slices = detail::index_slices(state);
    Claims claims;
    static const std::vector<const k8s::EndpointSlice*> no_slices;

    for (const auto& [key, svc] : state.services) {
        if (!is_proxied(svc, options))
            continue;
        const auto found = slices.find({svc.meta.namespace_, svc.meta.name});
        model.services.push_back(desired_service(svc, found == slices.end() ? no_slices : found->second, options,
                                                 claims, model.problems));
    }
    return model;
}

} // namespace kpr::sync
