// The typed discovery.k8s.io/v1 EndpointSlice: a Service's backends with
// their readiness, and the resolved port numbers per Service port name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kpr/k8s/object_meta.hpp"
#include "kpr/k8s/protocol.hpp"
#include "kpr/net/address.hpp"

namespace kpr::k8s {

enum class AddressType { IPv4, IPv6, FQDN };

// Conditions with the API's defaults applied: a missing ready or serving
// means true, a missing terminating means false.
struct EndpointConditions {
    bool ready = true;
    bool serving = true;
    bool terminating = false;

    bool operator==(const EndpointConditions&) const = default;
};

struct Endpoint {
    // Only addresses[0] is used for load balancing, as kube-proxy does; FQDN
    // slices carry no addresses here.
    std::vector<net::Address> addresses;
    EndpointConditions conditions;
    std::string node_name;
    std::string zone;

    bool operator==(const Endpoint&) const = default;
};

struct EndpointPort {
    std::string name;
    Protocol protocol = Protocol::TCP;
    std::optional<std::uint16_t> port; // absent means "all ports": unusable for a Service

    bool operator==(const EndpointPort&) const = default;
};

struct EndpointSlice {
    ObjectMeta meta;
    std::string service_name; // the kubernetes.io/service-name label
    AddressType address_type = AddressType::IPv4;
    std::vector<Endpoint> endpoints;
    std::vector<EndpointPort> ports;

    ObjectKey key() const { return {"EndpointSlice", meta.namespace_, meta.name}; }
    bool operator==(const EndpointSlice&) const = default;
};

} // namespace kpr::k8s
