// The typed v1/Service: the fields kpr's load balancer acts on, east-west
// (cluster IPs) and north-south (NodePorts, external IPs, load-balancer
// ingress IPs, their traffic policies and session affinity).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "kpr/k8s/object_meta.hpp"
#include "kpr/k8s/protocol.hpp"
#include "kpr/net/address.hpp"

namespace kpr::k8s {

enum class ServiceType { ClusterIP, NodePort, LoadBalancer, ExternalName };

// spec.externalTrafficPolicy / spec.internalTrafficPolicy.
enum class TrafficPolicy { Cluster, Local };

enum class SessionAffinity { None, ClientIP };

// The API server's default for sessionAffinityConfig.clientIP.timeoutSeconds.
inline constexpr std::uint32_t default_affinity_timeout_seconds = 10800;

struct ServicePort {
    std::string name; // empty only when the Service has a single port
    Protocol protocol = Protocol::TCP;
    std::uint16_t port = 0;
    // A number, or the name of a container port; the EndpointSlice
    // controller resolves it per pod, so the data path reads the resolved
    // number from the EndpointSlice port with this port's name.
    std::variant<std::uint16_t, std::string> target_port;
    std::uint16_t node_port = 0; // 0: none (a ClusterIP Service, or not allocated)

    bool operator==(const ServicePort&) const = default;
};

struct Service {
    ObjectMeta meta;
    ServiceType type = ServiceType::ClusterIP;
    // spec.clusterIPs (or spec.clusterIP when clusterIPs is absent), in
    // order; empty when clusterIP is "None" (headless) or unset.
    std::vector<net::Address> cluster_ips;
    bool headless = false;
    std::vector<ServicePort> ports;
    std::vector<net::Address> external_ips; // spec.externalIPs
    // status.loadBalancer.ingress[].ip, except those with ipMode Proxy
    // (the load balancer proxies to the NodePort itself, so kube-proxy does
    // not claim the address either).
    std::vector<net::Address> load_balancer_ingress;
    // spec.loadBalancerSourceRanges as written; the model parses them, so a
    // bad one costs only the load-balancer frontends, never the cluster IP.
    std::vector<std::string> load_balancer_source_ranges;
    TrafficPolicy external_traffic_policy = TrafficPolicy::Cluster;
    TrafficPolicy internal_traffic_policy = TrafficPolicy::Cluster;
    std::uint16_t health_check_node_port = 0; // 0: none
    SessionAffinity session_affinity = SessionAffinity::None;
    std::uint32_t affinity_timeout_seconds = default_affinity_timeout_seconds;

    ObjectKey key() const { return {"Service", meta.namespace_, meta.name}; }
    bool operator==(const Service&) const = default;
};

} // namespace kpr::k8s
