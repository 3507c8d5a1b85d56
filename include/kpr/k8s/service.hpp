// The typed v1/Service: the fields kpr's load balancer acts on.
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

struct ServicePort {
    std::string name; // empty only when the Service has a single port
    Protocol protocol = Protocol::TCP;
    std::uint16_t port = 0;
    // A number, or the name of a container port; the EndpointSlice
    // controller resolves it per pod, so the data path reads the resolved
    // number from the EndpointSlice port with this port's name.
    std::variant<std::uint16_t, std::string> target_port;

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

    ObjectKey key() const { return {"Service", meta.namespace_, meta.name}; }
    bool operator==(const Service&) const = default;
};

} // namespace kpr::k8s
