// The Kubernetes objects kpr acts on, as one source currently sees them,
// each under its identity.
#pragma once

#include <map>

#include "kpr/k8s/endpoint_slice.hpp"
#include "kpr/k8s/namespace.hpp"
#include "kpr/k8s/network_policy.hpp"
#include "kpr/k8s/node.hpp"
#include "kpr/k8s/object_meta.hpp"
#include "kpr/k8s/pod.hpp"
#include "kpr/k8s/service.hpp"

namespace kpr::k8s {

struct ClusterState {
    std::map<ObjectKey, Service> services;
    std::map<ObjectKey, EndpointSlice> endpoint_slices;
    std::map<ObjectKey, Pod> pods;
    std::map<ObjectKey, Namespace> namespaces;
    std::map<ObjectKey, NetworkPolicy> network_policies;
    std::map<ObjectKey, Node> nodes;

    bool operator==(const ClusterState&) const = default;
};

} // namespace kpr::k8s
